/// A string as a dictionary key by its exact UTF-8 bytes. Swift's `String` equality is
/// Unicode canonical equivalence, so "café" written precomposed and decomposed, or "K" and
/// U+212A KELVIN SIGN, are one `String` key; file names, SPF terms and key texts that differ
/// in bytes are different things and must not share a cache entry.
struct ExactText: Hashable {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (a: ExactText, b: ExactText) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
