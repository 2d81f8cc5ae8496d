import KeygateJSON

/// Turns the lines of `keygate serve`'s input into replies, in order,
/// gathering consecutive write requests into groups that commit as one
/// (``KeygateService/grouping(_:)``).
///
/// A group ends at the first request that is not a write (a verification
/// after a revocation sees it committed), when it holds
/// ``maximumGroupSize`` requests, and whenever no more input is waiting
/// (``drain(_:)``), so a caller that sends one request at a time is
/// answered at once. No reply of a group is emitted before its commit.
public struct RequestPipeline: ~Copyable {
    /// Bounds how long one group holds the database's write lock (a few
    /// milliseconds) and how many replies a failed commit takes back.
    public static let maximumGroupSize = 128

    private let server: RPCServer
    private var group: [JSON] = []

    public init(server: RPCServer) {
        self.server = server
    }

    /// Takes one line; `emit` gets each reply that is ready, in order.
    public mutating func receive(_ line: UnsafeBufferPointer<UInt8>, _ emit: ([UInt8]) -> Void) {
        switch server.parse(line) {
        case .failed(let reply):
            drain(emit)
            emit(reply)
        case .parsed(let message) where server.joinsWriteGroup(message):
            group.append(message)
            if group.count >= Self.maximumGroupSize { drain(emit) }
        case .parsed(let message):
            drain(emit)
            if let reply = server.reply(to: message) { emit(reply) }
        }
    }

    /// Answers a line that was too long to read.
    public mutating func receiveOversizedLine(limit: Int, _ emit: ([UInt8]) -> Void) {
        drain(emit)
        emit(server.replyToOversizedLine(limit: limit))
    }

    /// Commits the pending group, if any, and emits its replies.
    public mutating func drain(_ emit: ([UInt8]) -> Void) {
        guard !group.isEmpty else { return }
        let pending = group
        group.removeAll(keepingCapacity: true)
        for reply in server.replies(toGroup: pending) {
            if let reply { emit(reply) }
        }
    }
}
