import Crypto
public import Foundation

extension PlanCatalog {
    /// Loads and checks a catalog file.
    ///
    /// - Throws: ``CatalogError`` with every problem found, each as
    ///   `path:line:column: message`, where `path` is `url`'s path as given.
    public static func load(contentsOf url: URL) throws(CatalogError) -> PlanCatalog {
        let bytes: [UInt8]
        do {
            bytes = try readBounded(url)
        } catch {
            throw CatalogError(problems: [CatalogProblem(file: url.relativePath, line: nil, message: error.message)])
        }
        return try parse(bytes, source: url.relativePath)
    }

    /// Checks a catalog held in memory; `source` names it in problems.
    public static func parse(_ bytes: some Collection<UInt8>, source: String) throws(CatalogError) -> PlanCatalog {
        let sink = DiagnosticSink(file: source)
        let bytes = Array(bytes)
        guard let root = XMLDocumentReader.read(bytes, schema: .shipped, into: sink),
            var catalog = CatalogBuilder(sink: sink).build(root)
        else {
            // Sorted by line so the author can work down the file; stable, so
            // problems on one line keep the order they were found in.
            let problems = sink.problems.enumerated().sorted { lhs, rhs in
                (lhs.element.line ?? 0, lhs.offset) < (rhs.element.line ?? 0, rhs.offset)
            }.map(\.element)
            throw CatalogError(problems: problems)
        }
        catalog.digest = SHA256.hash(data: bytes).map { byte in
            String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
        }.joined()
        return catalog
    }

    /// Reads at most one byte more than a catalog may have, so a huge file
    /// (or `/dev/zero`) is refused without being held in memory.
    private static func readBounded(_ url: URL) throws(ReadFailure) -> [UInt8] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ReadFailure(message: "is a directory, not a catalog file")
        }
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            throw ReadFailure(message: "no such file")
        } catch let error as CocoaError where error.code == .fileReadNoPermission {
            throw ReadFailure(message: "permission denied")
        } catch {
            throw ReadFailure(message: "cannot be read: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        do {
            var bytes: [UInt8] = []
            while bytes.count <= XMLDocumentReader.maximumSize,
                let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty
            {
                bytes.append(contentsOf: chunk)
            }
            return bytes
        } catch {
            throw ReadFailure(message: "cannot be read: \(error.localizedDescription)")
        }
    }

    private struct ReadFailure: Error {
        let message: String
    }
}
