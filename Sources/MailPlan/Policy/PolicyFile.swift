import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file mailplan writes besides DNS: the MTA-STS policy (RFC 8461 §3.2) of a domain.
public struct PolicyFileChange: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Codable { case create, update }
    public let action: Action
    /// Absolute path of the file.
    public let path: String
    /// What the file is for: `mta_sts policy for example.com`.
    public let purpose: String
    /// The current content (nil when the file does not exist).
    public let before: String?
    /// The content to write.
    public let after: String
}

/// Reads and writes policy files.
public enum PolicyFiles {
    /// The change needed to make `path` hold `content`, or nil when it already does.
    /// - Throws: ``DiagnosticsError`` when the file exists but cannot be read.
    public static func change(path: String, content: String, purpose: String, location: SourceLocation?) throws -> PolicyFileChange? {
        guard FileManager.default.fileExists(atPath: path) else {
            return PolicyFileChange(action: .create, path: path, purpose: purpose, before: nil, after: content)
        }
        let current: String
        do { current = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DiagnosticsError(Diagnostic(at: location, "\(purpose): cannot read \(path) (\(PlanLoader.reason(error)))"))
        }
        return current == content ? nil : PolicyFileChange(action: .update, path: path, purpose: purpose, before: current, after: content)
    }

    /// Writes `content` to `path` atomically: a temporary file in the same directory, fsync,
    /// rename. Readers (the web server serving `/.well-known/mta-sts.txt`) see the old or the
    /// new policy, never a partial one. Mode 0644 (a policy is public).
    /// - Throws: ``DiagnosticsError`` naming the path and the system error.
    public static func write(_ content: String, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).mailplan-\(getpid())"
        func fail(_ what: String) -> DiagnosticsError {
            DiagnosticsError(Diagnostic(at: nil, "cannot \(what) \(path): \(String(cString: strerror(errno)))"))
        }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw fail("write") }
        let bytes = Array(content.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { close(fd); unlink(tmp); throw fail("write") }
            off += n
        }
        _ = fchmod(fd, 0o644)
        if fsync(fd) != 0 { close(fd); unlink(tmp); throw fail("write") }
        close(fd)
        if rename(tmp, path) != 0 { let e = fail("replace"); unlink(tmp); throw e }
    }
}
