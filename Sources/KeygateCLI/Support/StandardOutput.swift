import KeygateRPC

/// What the one-shot commands print for a person or a pipeline. Written with
/// `write(2)` rather than `print`: a parent may hand over a non-blocking
/// stdout, and the C library's buffered output drops what a full pipe
/// refuses, where this waits for the reader.
enum StandardOutput {
    static func write(_ text: String, terminator: String = "\n") {
        _ = Array((text + terminator).utf8).withUnsafeBytes { DescriptorIO.write(1, $0) }
    }
}
