import Foundation

/// A thread could not be started (pthread_create(3) failed: EAGAIN when RLIMIT_NPROC is
/// reached or there is no memory for its stack).
struct ThreadStartError: Error, CustomStringConvertible {
    /// pthread_create's error number.
    let code: Int32
    /// What the thread was for, e.g. "to read zone example.com." (empty: not said).
    var purpose = ""
    var description: String {
        "no thread could be started\(purpose.isEmpty ? "" : " " + purpose) (pthread_create: \(String(cString: strerror(code))))"
    }
}

/// The body of a thread started by ``startDetachedThread(stackSize:_:)`` (a C start routine
/// cannot capture context).
private final class ThreadBody: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

#if canImport(Darwin)
private func threadStart(_ arg: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
    Unmanaged<ThreadBody>.fromOpaque(arg).takeRetainedValue().run()
    return nil
}
#else
private func threadStart(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().run()
    return nil
}
#endif

/// Starts `body` on a new detached thread (pthread_create(3)). Foundation's `Thread.start()`
/// is not used because it gives no sign when the thread cannot be created: whoever waits for
/// the thread's work would wait forever.
/// - Parameter stackSize: bytes of stack; nil: the system's default (RLIMIT_STACK on Linux).
/// - Throws: ``ThreadStartError`` when the thread could not be created; `body` is then not run.
func startDetachedThread(stackSize: Int? = nil, _ body: @escaping () -> Void) throws(ThreadStartError) {
    var attr = pthread_attr_t()
    let initialized = pthread_attr_init(&attr)
    guard initialized == 0 else { throw ThreadStartError(code: initialized) }
    defer { pthread_attr_destroy(&attr) }
    if let stackSize { _ = pthread_attr_setstacksize(&attr, stackSize) }
    _ = pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
    let arg = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    #if canImport(Darwin)
    var thread: pthread_t? = nil
    #else
    var thread = pthread_t()
    #endif
    let rc = pthread_create(&thread, &attr, threadStart, arg)
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(arg).release()
        throw ThreadStartError(code: rc)
    }
}
