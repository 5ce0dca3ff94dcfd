import Foundation

/// True when the UTF-8 of `haystack` contains that of `needle`, byte for byte: without
/// Foundation's bridging of `contains(_:)` or the generic collection search, both of which
/// cost more than the check itself when run once per domain of a large plan.
func utf8Contains(_ haystack: String, _ needle: String) -> Bool {
    var h = haystack, n = needle
    return h.withUTF8 { hb in
        n.withUTF8 { nb in
            if nb.isEmpty { return true }
            guard nb.count <= hb.count, let hp = hb.baseAddress, let np = nb.baseAddress else { return false }
            // memchr for the first byte, memcmp for the rest (memmem is a GNU extension that
            // Glibc's Swift module does not declare).
            let first = Int32(nb[0]), last = hb.count - nb.count
            var i = 0
            while i <= last {
                guard let hit = memchr(hp + i, first, last - i + 1) else { return false }
                i = hp.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(hp + i, np, nb.count) == 0 { return true }
                i += 1
            }
            return false
        }
    }
}
