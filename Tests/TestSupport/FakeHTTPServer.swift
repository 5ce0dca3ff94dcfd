import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 with a scripted handler, for transport and adapter
/// tests. It supports keep-alive and counts connections, so tests can see reuse.
final class FakeHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var headers: [String: String]   // lower-cased names
        var body: Data
    }
    struct Response: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body: String = ""
        /// Close the connection instead of answering: the request was handled, the reply is lost.
        var dropConnection = false
        init(_ status: Int, headers: [String: String] = [:], _ body: String = "") {
            self.status = status; self.headers = headers; self.body = body
        }
    }

    let port: UInt16
    var url: String { "http://127.0.0.1:\(port)" }
    private let fd: Int32
    private let lock = NSLock()
    private var _requests: [Request] = []
    private var _connections = 0
    private let handler: @Sendable (Request, Int) -> Response

    var requests: [Request] { lock.lock(); defer { lock.unlock() }; return _requests }
    var connections: Int { lock.lock(); defer { lock.unlock() }; return _connections }

    /// - Parameter handler: gets each request and its 0-based index among all requests.
    init(handler: @escaping @Sendable (Request, Int) -> Response) throws {
        self.handler = handler
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw NSError(domain: "FakeHTTPServer", code: 1) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0, listen(fd, 16) == 0 else { close(fd); throw NSError(domain: "FakeHTTPServer", code: 2) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    /// Stops accepting; open connections end when the client closes them.
    /// The listening socket is closed by the accept thread itself once accept fails, so its
    /// descriptor number cannot be reused by another server while this thread still waits on it.
    func stop() { shutdown(fd, Int32(SHUT_RDWR)) }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { close(fd); return }
            lock.lock(); _connections += 1; lock.unlock()
            Thread { [self] in serve(c) }.start()
        }
    }

    private func serve(_ c: Int32) {
        defer { close(c) }
        var buffer = Data()
        func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(c, &chunk, chunk.count)
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[0..<n]); return true
        }
        while true {
            var headerEnd: Range<Data.Index>?
            while true {
                headerEnd = buffer.range(of: Data("\r\n\r\n".utf8))
                if headerEnd != nil { break }
                if !fill() { return }
            }
            let head = String(decoding: buffer[buffer.startIndex..<headerEnd!.lowerBound], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let start = lines.removeFirst().split(separator: " ")
            var headers: [String: String] = [:]
            for l in lines { if let i = l.firstIndex(of: ":") { headers[l[..<i].lowercased()] = l[l.index(after: i)...].trimmingCharacters(in: .whitespaces) } }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            buffer = Data(buffer[headerEnd!.upperBound...])
            while buffer.count < length { if !fill() { return } }
            let body = Data(buffer.prefix(length))
            buffer = Data(buffer.dropFirst(length))
            let req = Request(method: String(start.first ?? ""), path: start.count > 1 ? String(start[1]) : "/", headers: headers, body: body)
            lock.lock(); let index = _requests.count; _requests.append(req); lock.unlock()
            let resp = handler(req, index)
            if resp.dropConnection { return }
            var out = "HTTP/1.1 \(resp.status) X\r\nContent-Length: \(resp.body.utf8.count)\r\n"
            for (k, v) in resp.headers { out += "\(k): \(v)\r\n" }
            out += "\r\n" + resp.body
            let bytes = Array(out.utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                sent += n
            }
        }
    }
}
