import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file atomically: the new bytes go to a temporary file in the same directory
/// (same file system), are flushed to disk and renamed over the target, so a reader sees
/// either the old file or the new one, never a mix.
enum ZoneFileWriter {
    enum Failure: Error, CustomStringConvertible {
        /// The file no longer holds the bytes the caller read.
        case changed
        /// A system call failed: what was being done and `strerror(errno)`.
        case system(String)
        var description: String {
            switch self {
            case .changed: "the file changed"
            case .system(let s): s
            }
        }
    }

    /// Replaces `url` (following a symbolic link to the real file) with `data`, keeping its
    /// permission bits.
    /// - Parameters:
    ///   - expecting: the bytes the caller read; checked again just before the rename.
    ///   - backup: when true, the previous bytes are first written to `<path>.bak` (atomically too).
    /// - Throws: ``Failure``; on failure the target is untouched and temporary files are removed.
    static func replace(_ url: URL, with data: [UInt8], expecting: [UInt8], backup: Bool) throws {
        let target = url.resolvingSymlinksInPath()
        var st = stat()
        let exists = stat(target.path, &st) == 0
        let mode: mode_t = exists ? st.st_mode & 0o7777 : 0o644
        // The owner too: a zone file owned by the name server's user must stay readable by it.
        let owner: (uid_t, gid_t)? = exists ? (st.st_uid, st.st_gid) : nil

        let temp = try writeTemp(data, beside: target, mode: mode, owner: owner)
        var keepTemp = false
        defer { if !keepTemp { unlink(temp) } }

        guard holds(target.path, expecting) else { throw Failure.changed }
        if backup {
            let bakTemp = try writeTemp(expecting, beside: target, mode: mode, owner: owner)
            if rename(bakTemp, target.path + ".bak") != 0 {
                let why = errorText("cannot create \(target.path).bak")
                unlink(bakTemp)
                throw Failure.system(why)
            }
        }
        if rename(temp, target.path) != 0 { throw Failure.system(errorText("cannot rename the new file over \(target.path)")) }
        keepTemp = true
        syncDirectory(target.deletingLastPathComponent().path)
    }

    /// True when the file at `path` holds exactly `bytes`, compared a block at a time (a large
    /// zone file is not read into memory a second time).
    static func holds(_ path: String, _ bytes: [UInt8]) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) == bytes.count else { return false }
        let block = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: block, alignment: 16)
        defer { buffer.deallocate() }
        return bytes.withUnsafeBytes { want in
            var offset = 0
            while true {
                let n = read(fd, buffer.baseAddress, block)
                if n < 0 { if errno == EINTR { continue }; return false }
                if n == 0 { return offset == want.count }
                guard offset + n <= want.count, memcmp(buffer.baseAddress!, want.baseAddress! + offset, n) == 0 else { return false }
                offset += n
            }
        }
    }

    /// The bytes of the file at `path`, read with one allocation of its size.
    /// - Throws: `POSIXError` when it cannot be opened or read.
    static func contents(of path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var out = [UInt8](repeating: 0, count: max(Int(st.st_size), 0) + 1)
        var count = 0
        var failure: Int32 = 0
        while failure == 0 {
            if count == out.count { out += [UInt8](repeating: 0, count: max(out.count, 1 << 16)) }
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress!.advanced(by: count), $0.count - count) }
            if n < 0 { if errno != EINTR { failure = errno }; continue }
            if n == 0 { break }
            count += n
        }
        if failure != 0 { throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO) }
        out.removeLast(out.count - count)
        return out
    }

    /// Writes `data` to a new `.<name>.mailplan-XXXXXX` file next to `target`, fsyncs it and
    /// sets `mode` (and `owner` where the process may). - Returns: its path.
    static func writeTemp(_ data: [UInt8], beside target: URL, mode: mode_t, owner: (uid_t, gid_t)? = nil) throws -> String {
        let dir = target.deletingLastPathComponent().path
        var template = Array("\(dir)/.\(target.lastPathComponent).mailplan-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Failure.system(errorText("cannot create a temporary file in \(dir)")) }
        let path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ok = false
        defer { if !ok { unlink(path) } }
        defer { close(fd) }
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure.system(errorText("cannot write \(path)"))
                }
                offset += n
            }
        }
        // Keep the original owner where allowed (as root, or the same user); otherwise the file
        // belongs to whoever runs mailplan, as any editor would leave it.
        if let (uid, gid) = owner, fchown(fd, uid, gid) != 0, errno != EPERM {
            throw Failure.system(errorText("cannot set the owner of \(path)"))
        }
        guard fchmod(fd, mode) == 0 else { throw Failure.system(errorText("cannot set the mode of \(path)")) }
        guard fsync(fd) == 0 else { throw Failure.system(errorText("cannot flush \(path)")) }
        ok = true
        return path
    }

    /// Flushes a directory entry change (the rename) to disk; best effort.
    static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    static func errorText(_ what: String) -> String {
        "\(what): \(String(cString: strerror(errno)))"
    }
}
