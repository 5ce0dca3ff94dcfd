import Foundation

/// A plan file cut into its `domains:` items and the rest, so that a plan of thousands of
/// domains is composed one domain at a time (each item's YAML node tree is read and dropped)
/// instead of as one tree of the whole file.
///
/// Only the common layout is cut: a top-level block key `domains:` alone on its line (a
/// comment may follow) whose items are block sequence entries, each starting with `- ` at one
/// indentation; an item runs until the next line that starts at that indentation or less
/// (blank and comment lines belong to the item before them). Everything else (flow-style
/// `domains: [...]`, tabs in the indentation, no items) is not cut, and the loader composes
/// the whole file as before. The rest keeps every line of the file, the items' lines emptied,
/// so line numbers in it are the file's; each item keeps whole lines, so its columns are the
/// file's and its line numbers are offset by ``Item/firstLine`` − 1. A cut that does not
/// compose exactly (any YAML error, an alias, an item that is not one sequence entry) makes
/// the loader compose the whole file, so every YAML diagnostic is the one the whole file gives.
struct DomainSlices {
    struct Item {
        /// Where the item's lines are in the file's text.
        let range: Range<String.Index>
        /// The 1-based line of the file the item starts on.
        let firstLine: Int
    }

    /// The file's text.
    let source: String
    /// The file without the items' text: `domains:` followed by empty lines.
    let rest: String
    let items: [Item]

    /// Fewer items than this are not worth cutting (the default of ``PlanLoader``).
    static let minimumItems = 64

    /// The YAML text of an item: its lines as they are in the file.
    func text(_ item: Item) -> String { String(source[item.range]) }

    /// The text is read as bytes (lines split at LF), never as Characters: this runs over the
    /// whole file before anything is composed.
    /// - Parameter minimumItems: fewer items are not cut (nil is returned).
    /// - Returns: nil when the file is not of the layout described above.
    init?(_ text: String, minimumItems: Int = DomainSlices.minimumItems) {
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r"), hash = UInt8(ascii: "#"), dash = UInt8(ascii: "-")
        /// The leading spaces; nil when a tab is part of the indentation.
        func indent(_ l: Substring.UTF8View) -> Int? {
            var n = 0
            for c in l {
                if c == space { n += 1; continue }
                if c == tab { return nil }
                return n
            }
            return n
        }
        func isBlankOrComment(_ l: Substring.UTF8View) -> Bool {
            guard let c = l.first(where: { $0 != space && $0 != cr }) else { return true }
            return c == hash
        }
        let key = Array("domains:".utf8)
        func isDomainsKey(_ l: Substring.UTF8View) -> Bool {
            guard l.starts(with: key) else { return false }
            guard let c = l.dropFirst(key.count).first(where: { $0 != space && $0 != cr }) else { return true }
            return c == hash
        }
        guard let k = lines.firstIndex(where: isDomainsKey) else { return nil }
        // The first item fixes the indentation of the entries.
        var i = k + 1
        while i < lines.count, isBlankOrComment(lines[i]) { i += 1 }
        guard i < lines.count, let itemIndent = indent(lines[i]) else { return nil }
        func startsItem(_ l: Substring.UTF8View) -> Bool {
            guard indent(l) == itemIndent else { return false }
            let body = l.dropFirst(itemIndent)
            guard body.first == dash else { return false }
            let next = body.dropFirst().first
            return next == nil || next == space || (next == cr && body.count == 2)
        }
        guard startsItem(lines[i]) else { return nil }
        var items: [Item] = []
        var start = i
        var end = i + 1
        while end < lines.count {
            let l = lines[end]
            if isBlankOrComment(l) { end += 1; continue }
            guard let n = indent(l) else { return nil }
            if n > itemIndent { end += 1; continue }
            if startsItem(l) {
                items.append(Item(range: lines[start].startIndex..<lines[end - 1].endIndex, firstLine: start + 1))
                start = end; end += 1; continue
            }
            break
        }
        items.append(Item(range: lines[start].startIndex..<lines[end - 1].endIndex, firstLine: start + 1))
        guard items.count >= minimumItems else { return nil }
        // Every line of the file, the items' lines (and what lies between them) emptied.
        var rest = String(text[..<lines[k].endIndex])
        rest += String(repeating: "\n", count: end - k - 1)
        if end < lines.count { rest += "\n" + String(text[lines[end].startIndex...]) }
        self.source = text
        self.rest = rest
        self.items = items
    }
}
