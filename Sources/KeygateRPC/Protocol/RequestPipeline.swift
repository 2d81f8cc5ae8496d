import KeygateJSON

/// Turns the lines of `keygate serve`'s input into replies, in order,
/// gathering consecutive write requests into groups that commit as one
/// (``KeygateService/unitOfWork(_:)``), and, where the store looks keys
/// up together (``RPCServer/gathersVerifications``), consecutive
/// verifications into groups whose missing keys are read at once.
///
/// A group ends at the first request of another kind (a verification after
/// a revocation sees it committed; a revocation after a verification does
/// not change its answer), when it holds ``maximumGroupSize`` requests,
/// and whenever no more input is waiting (``drain(_:)``), so a caller that
/// sends one request at a time is answered at once. No reply of a write
/// group is emitted before its commit.
public struct RequestPipeline: ~Copyable {
    /// Bounds how long one group holds the database's write lock (a few
    /// milliseconds) and how many replies a failed commit takes back; and
    /// how many keys one look-up asks for.
    public static let maximumGroupSize = 128

    private let server: RPCServer
    private let gathersVerifications: Bool
    private var group: [JSON] = []
    /// Whether `group` holds verifications rather than writes.
    private var groupVerifies = false

    public init(server: RPCServer) {
        self.server = server
        gathersVerifications = server.gathersVerifications
    }

    /// Takes one line; `emit` gets each reply that is ready, in order.
    public mutating func receive(_ line: UnsafeBufferPointer<UInt8>, _ emit: ([UInt8]) -> Void) {
        switch server.parse(line) {
        case .failed(let reply):
            drain(emit)
            emit(reply)
        case .parsed(let message) where server.joinsWriteGroup(message):
            gather(message, verifies: false, emit)
        case .parsed(let message) where gathersVerifications && server.isVerification(message):
            gather(message, verifies: true, emit)
        case .parsed(let message):
            drain(emit)
            if let reply = server.reply(to: message) { emit(reply) }
        }
    }

    private mutating func gather(_ message: JSON, verifies: Bool, _ emit: ([UInt8]) -> Void) {
        if groupVerifies != verifies { drain(emit) }
        groupVerifies = verifies
        group.append(message)
        if group.count >= Self.maximumGroupSize { drain(emit) }
    }

    /// Answers a line that was too long to read.
    public mutating func receiveOversizedLine(limit: Int, _ emit: ([UInt8]) -> Void) {
        drain(emit)
        emit(server.replyToOversizedLine(limit: limit))
    }

    /// Answers the pending group, if any (a write group once committed), and emits its replies.
    public mutating func drain(_ emit: ([UInt8]) -> Void) {
        guard !group.isEmpty else { return }
        let pending = group
        group.removeAll(keepingCapacity: true)
        let replies = groupVerifies ? server.replies(toVerifications: pending) : server.replies(toGroup: pending)
        for reply in replies {
            if let reply { emit(reply) }
        }
    }
}
