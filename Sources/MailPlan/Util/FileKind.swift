import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What kind of file a path names, so that reading a FIFO, a device or a directory as a plan
/// or zone file is refused with what it is (opening a FIFO would block; "permission denied"
/// would mislead).
public enum FileKind {
    /// nil when `path` (symbolic links followed) is a regular file; otherwise "missing",
    /// "a directory", "a FIFO (named pipe)", "a character device", "a block device",
    /// "a socket" or "not a regular file".
    public static func notRegular(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return errno == ENOENT || errno == ENOTDIR ? "missing" : nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// A short reason for a failed file read or write, for messages: what the path is when it
    /// is not a regular file, else the POSIX text where Foundation has one ("No such file or
    /// directory", "Permission denied"), never a Foundation error domain and code.
    public static func reason(_ error: Error, path: String? = nil) -> String {
        if let path, let kind = notRegular(path), kind != "missing" {
            return kind == "a directory" ? "Is a directory" : "it is \(kind), not a regular file"
        }
        let ns = error as NSError
        if let under = ns.userInfo[NSUnderlyingErrorKey] as? NSError, under.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(under.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if ns.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(ns.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if ns.domain == NSCocoaErrorDomain && (ns.code == NSFileReadNoSuchFileError || ns.code == NSFileNoSuchFileError) { return "No such file or directory" }
        if ns.domain == NSCocoaErrorDomain && (ns.code == NSFileReadNoPermissionError || ns.code == NSFileWriteNoPermissionError) { return "Permission denied" }
        return ns.localizedDescription
    }

    /// Reads a whole regular file.
    /// - Throws: a ``FileKindError`` saying what the path is when it is not a regular file
    ///   (without opening it), else the read error.
    public static func readRegular(_ path: String) throws -> Data {
        if let kind = notRegular(path), kind != "missing" { throw FileKindError(path: path, kind: kind) }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }
}

/// A path that is not a regular file where one is needed.
public struct FileKindError: Error, CustomStringConvertible {
    public let path: String
    public let kind: String
    public var description: String {
        switch kind {
        case "a directory": "Is a directory"
        case "text that is not UTF-8": "it is not UTF-8 text"
        default: "it is \(kind), not a regular file"
        }
    }
}
