import CYaml
import Crypto
import Foundation

/// A YAML node of a plan file, as the plan reader sees it: text, mappings and lists, each
/// with the line and column it starts at. Composed straight from libyaml's events
/// (``YAMLComposer``): no tags are resolved (the plan reader checks every scalar's type itself)
/// and an alias is the node its anchor names.
enum YAMLNode {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    /// Where a node starts: 1-based line and column, as libyaml's start mark + 1.
    struct Mark: Equatable {
        var line: Int
        var column: Int
    }

    struct Scalar {
        /// How the scalar is written (libyaml's `yaml_scalar_style_t`).
        enum Style: UInt8 { case any = 0, plain, singleQuoted, doubleQuoted, literal, folded }
        let string: String
        let style: Style
        let mark: Mark
    }

    /// A mapping's pairs in file order; keys are unique (a repeated key is a YAML error).
    struct Mapping: Swift.Sequence {
        var pairs: [(key: YAMLNode, value: YAMLNode)]
        let mark: Mark
        var count: Int { pairs.count }
        func makeIterator() -> IndexingIterator<[(key: YAMLNode, value: YAMLNode)]> { pairs.makeIterator() }
    }

    struct Sequence: RandomAccessCollection {
        var items: [YAMLNode]
        let mark: Mark
        var startIndex: Int { 0 }
        var endIndex: Int { items.count }
        subscript(i: Int) -> YAMLNode { items[i] }
    }

    var mark: Mark {
        switch self {
        case .scalar(let s): s.mark
        case .mapping(let m): m.mark
        case .sequence(let s): s.mark
        }
    }

    var scalar: Scalar? { if case .scalar(let s) = self { return s }; return nil }
}

/// Why a plan file is not a YAML document (the plan loader turns it into a diagnostic).
enum YAMLError: Error {
    /// libyaml's scanner, parser or the composer stopped at `mark` (`problem`, e.g. "mapping
    /// values are not allowed in this context"), optionally inside `context` that began at
    /// `contextMark`.
    case syntax(problem: String, mark: YAMLNode.Mark, context: String?, contextMark: YAMLNode.Mark)
    /// The same key twice in one mapping: `keys` (sorted) are repeated; `first` and `second`
    /// are the first two occurrences of the first of them.
    case duplicateKeys(keys: [String], first: YAMLNode.Mark, second: YAMLNode.Mark)
    /// The bytes are not text libyaml reads (an invalid UTF-8 sequence, a control character).
    case reader(problem: String)
    case memory
}

/// Composes YAML nodes from libyaml's event parser (`yaml_parser_parse`, the reference
/// implementation of YAML 1.1's parser) over UTF-8 bytes that stay valid while it runs.
///
/// The plan loader reads the top-level `domains:` list one item at a time
/// (``document(streaming:item:)``), so a plan of thousands of domains never exists as one tree.
final class YAMLComposer {
    // libyaml's parser and current event live at fixed addresses (`let` pointers): no
    // exclusivity check per access, as a class's `var` properties would need (the composer
    // reads the event a few times for each of the hundreds of thousands of events of a plan).
    private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    private let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
    private var anchors: [String: YAMLNode] = [:]

    /// The file being read, when the composer reads one (kept alive for libyaml's handler).
    private let input: YAMLFileInput?

    /// - Parameter bytes: the document's bytes; they must outlive the composer.
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        input = nil
        event.initialize(to: yaml_event_t())
        yaml_parser_initialize(parser)
        yaml_parser_set_input_string(parser, bytes.baseAddress, bytes.count)
    }

    /// Reads the document from `file` a chunk at a time (``YAMLFileInput``): the file's text
    /// is never held whole.
    init(reading file: YAMLFileInput) {
        input = file
        event.initialize(to: yaml_event_t())
        yaml_parser_initialize(parser)
        yaml_parser_set_input(parser, { data, buffer, size, sizeRead in
            guard let data, let buffer, let sizeRead else { return 0 }
            let input = Unmanaged<YAMLFileInput>.fromOpaque(data).takeUnretainedValue()
            guard let n = input.fill(buffer, size) else { return 0 }
            sizeRead.pointee = n
            return 1
        }, Unmanaged.passUnretained(file).toOpaque())
    }

    deinit {
        yaml_event_delete(event)
        yaml_parser_delete(parser)
        event.deallocate()
        parser.deallocate()
    }

    private static func mark(_ m: yaml_mark_t) -> YAMLNode.Mark { YAMLNode.Mark(line: m.line + 1, column: m.column + 1) }

    private func error() -> YAMLError {
        switch parser.pointee.error {
        case YAML_MEMORY_ERROR: return .memory
        case YAML_READER_ERROR: return .reader(problem: parser.pointee.problem.map { String(cString: $0) } ?? "unreadable input")
        default:
            return .syntax(problem: parser.pointee.problem.map { String(cString: $0) } ?? "invalid YAML", mark: Self.mark(parser.pointee.problem_mark),
                           context: parser.pointee.context.map { String(cString: $0) }, contextMark: Self.mark(parser.pointee.context_mark))
        }
    }

    /// Parses the next event into `event` (the previous one is freed) and returns its type.
    @discardableResult
    private func next() throws -> yaml_event_type_t {
        yaml_event_delete(event)
        guard yaml_parser_parse(parser, event) == 1 else {
            event.pointee = yaml_event_t()
            throw error()
        }
        return event.pointee.type
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?, _ length: Int) -> String {
        guard let p else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: length), as: UTF8.self)
    }

    private static func anchor(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: $0) }
    }

    /// The node that starts with the current event (a scalar, alias, sequence or mapping start).
    /// - Parameter item: when given (the root mapping only), the items of the sequence under
    ///   the first top-level `domains` key are handed to it instead of kept, if `streaming`
    ///   agrees when that list starts.
    private func node(streaming: (([(key: YAMLNode, value: YAMLNode)]) -> Bool)? = nil,
                      item: ((YAMLNode, Int) -> Void)? = nil) throws -> YAMLNode {
        let start = Self.mark(event.pointee.start_mark)
        switch event.pointee.type {
        case YAML_SCALAR_EVENT:
            let s = event.pointee.data.scalar
            let node = YAMLNode.scalar(.init(string: Self.string(s.value, s.length),
                                             style: YAMLNode.Scalar.Style(rawValue: UInt8(s.style.rawValue)) ?? .any, mark: start))
            if let a = Self.anchor(s.anchor) { anchors[a] = node }
            return node
        case YAML_ALIAS_EVENT:
            guard let a = Self.anchor(event.pointee.data.alias.anchor), let node = anchors[a] else {
                throw YAMLError.syntax(problem: "found undefined alias", mark: start, context: nil, contextMark: start)
            }
            return node
        case YAML_SEQUENCE_START_EVENT:
            let anchor = Self.anchor(event.pointee.data.sequence_start.anchor)
            var items: [YAMLNode] = []
            while try next() != YAML_SEQUENCE_END_EVENT { items.append(try node()) }
            let node = YAMLNode.sequence(.init(items: items, mark: start))
            if let anchor { anchors[anchor] = node }
            return node
        case YAML_MAPPING_START_EVENT:
            let anchor = Self.anchor(event.pointee.data.mapping_start.anchor)
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var streamed = false
            while try next() != YAML_MAPPING_END_EVENT {
                let key = try node()
                try next()
                if let item, !streamed, event.pointee.type == YAML_SEQUENCE_START_EVENT, key.scalar?.string == "domains",
                   event.pointee.data.sequence_start.anchor == nil, streaming?(pairs) ?? true {
                    streamed = true
                    let at = Self.mark(event.pointee.start_mark)
                    var i = 0
                    while try next() != YAML_SEQUENCE_END_EVENT {
                        item(try node(), i)
                        i += 1
                    }
                    pairs.append((key, .sequence(.init(items: [], mark: at))))
                    continue
                }
                pairs.append((key, try node()))
            }
            try Self.checkDuplicates(pairs)
            let node = YAMLNode.mapping(.init(pairs: pairs, mark: start))
            if let anchor { anchors[anchor] = node }
            return node
        default:
            throw YAMLError.syntax(problem: "did not find expected node content", mark: start, context: nil, contextMark: start)
        }
    }

    /// Throws ``YAMLError/duplicateKeys(keys:first:second:)`` when a scalar key repeats.
    private static func checkDuplicates(_ pairs: [(key: YAMLNode, value: YAMLNode)]) throws {
        guard pairs.count > 1 else { return }
        var repeated: [String: (YAMLNode.Mark, YAMLNode.Mark)] = [:]
        if pairs.count <= 16 {
            // Most mappings are small: compare pairwise, no hashing.
            for i in 1..<pairs.count {
                guard let k = pairs[i].key.scalar else { continue }
                for j in 0..<i {
                    guard let e = pairs[j].key.scalar, e.string == k.string else { continue }
                    if repeated[k.string] == nil { repeated[k.string] = (e.mark, k.mark) }
                    break
                }
            }
        } else {
            var first: [String: YAMLNode.Mark] = [:]
            for p in pairs {
                guard let k = p.key.scalar else { continue }
                if let f = first[k.string] {
                    if repeated[k.string] == nil { repeated[k.string] = (f, k.mark) }
                } else { first[k.string] = k.mark }
            }
        }
        guard !repeated.isEmpty else { return }
        let keys = repeated.keys.sorted()
        let (first, second) = repeated[keys[0]]!
        throw YAMLError.duplicateKeys(keys: keys, first: first, second: second)
    }

    /// The single document of the stream.
    /// - Parameters:
    ///   - streaming: asked when the root mapping's first `domains:` list starts, with the
    ///     root's pairs composed so far; true: its items go to `item` one by one and the list
    ///     is composed empty. Without `item`, everything is composed.
    ///   - item: receives each streamed item and its 0-based index.
    /// - Returns: the root node; nil when the stream holds no document.
    /// - Throws: ``YAMLError``: libyaml's error, an undefined alias, a repeated key, or a
    ///   second document ("but found another document", as Yams' `compose` reports it).
    func document(streaming: (([(key: YAMLNode, value: YAMLNode)]) -> Bool)? = nil,
                  item: ((YAMLNode, Int) -> Void)? = nil) throws -> YAMLNode? {
        defer { yaml_event_delete(event); event.pointee = yaml_event_t() }
        try next() // stream start
        guard try next() == YAML_DOCUMENT_START_EVENT else { return nil }
        try next()
        let root: YAMLNode
        if event.pointee.type == YAML_MAPPING_START_EVENT { root = try node(streaming: streaming, item: item) } else { root = try node() }
        try next() // document end
        if try next() != YAML_STREAM_END_EVENT {
            throw YAMLError.syntax(problem: "but found another document", mark: Self.mark(event.pointee.start_mark),
                          context: "expected a single document in the stream", contextMark: YAMLNode.Mark(line: 1, column: 1))
        }
        return root
    }
}

/// A plan file read for libyaml one chunk at a time (`yaml_parser_set_input`), so its text is
/// never held whole: only UTF-8 text reaches the parser (an invalid or incomplete sequence
/// stops the read, as `String(data:encoding: .utf8)` refused the whole file), and the bytes
/// are hashed (SHA-256, for saved plans) as they pass.
final class YAMLFileInput {
    private let fd: Int32
    private var hasher = SHA256()
    /// The bytes of a UTF-8 sequence cut by the end of the last read, held for the next.
    private var carry: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)
    /// Checked text not yet handed to the parser, from `pendingStart`.
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var atEnd = false
    /// The file held bytes that are not UTF-8 (the parser then stops with a reader error).
    private(set) var invalidUTF8 = false
    /// errno of a failed read (the parser then stops with a reader error).
    private(set) var readErrno: Int32? = nil

    /// Opens `path` for reading.
    /// - Throws: the POSIX error of `open(2)` (as an `NSError` in `NSPOSIXErrorDomain`).
    init(path: String) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NSError(domain: NSPOSIXErrorDomain, code: Int(errno)) }
    }

    deinit { close(fd) }

    /// The SHA-256 of every byte read, in lower-case hex: the file's when the parser reached its end.
    var sha256: String { hexString(hasher.finalize()) }

    /// Copies up to `size` bytes of UTF-8 text into `out`.
    /// - Returns: the count (0 at the end of the file); nil when the file cannot be read or
    ///   is not UTF-8 (``readErrno``, ``invalidUTF8``).
    func fill(_ out: UnsafeMutablePointer<UInt8>, _ size: Int) -> Int? {
        while true {
            if pendingStart < pending.count {
                let n = min(size, pending.count - pendingStart)
                pending.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + pendingStart, count: n) }
                pendingStart += n
                return n
            }
            if atEnd {
                if carry.isEmpty { return 0 }
                invalidUTF8 = true
                return nil
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                readErrno = errno
                return nil
            }
            if n == 0 { atEnd = true; continue }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            let bytes = carry + chunk[..<n]
            // Hold back a sequence the read cut off (a lead byte without all its continuation bytes).
            var end = bytes.count
            var i = bytes.count - 1
            while i >= 0 && i > bytes.count - 4 && bytes[i] & 0xC0 == 0x80 { i -= 1 }
            if i >= 0 {
                let lead = bytes[i]
                let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
                if bytes.count - i < length { end = i }
            }
            guard bytes.withUnsafeBufferPointer({ String(validating: UnsafeBufferPointer(rebasing: $0[..<end]), as: UTF8.self) }) != nil else {
                invalidUTF8 = true
                return nil
            }
            pending = Array(bytes[..<end])
            pendingStart = 0
            carry = Array(bytes[end...])
        }
    }
}
