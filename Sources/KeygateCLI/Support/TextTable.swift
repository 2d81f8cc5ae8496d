/// A plain-text table with aligned columns, for terminals and logs alike.
struct TextTable {
    enum Row {
        case cells([String])
        /// A heading spanning the table, such as "Capabilities".
        case section(String)
    }

    var header: [String]
    var rows: [Row] = []

    init(header: [String]) {
        self.header = header
    }

    mutating func add(_ cells: String...) {
        add(cells)
    }

    mutating func add(_ cells: [String]) {
        rows.append(.cells(cells))
    }

    mutating func addSection(_ title: String) {
        rows.append(.section(title))
    }

    /// The table as text; every cell as a terminal may show it
    /// (``Swift/String/terminalSafe``), so no cell can break the table's lines.
    var rendered: String {
        let header = header.map(\.terminalSafe)
        let rows = rows.map { row -> Row in
            switch row {
            case .cells(let cells): .cells(cells.map(\.terminalSafe))
            case .section(let title): .section(title.terminalSafe)
            }
        }
        let allCells = [header] + rows.compactMap { row -> [String]? in
            if case .cells(let cells) = row { return cells }
            return nil
        }
        let widths = header.indices.map { column in
            allCells.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                column == cells.count - 1 ? cell : cell.padding(to: widths[column])
            }.joined(separator: "   ").trimmingSuffix(while: \.isWhitespace)
        }
        var output = line(header) + "\n"
        output += widths.map { String(repeating: "-", count: $0) }.joined(separator: "   ") + "\n"
        for row in rows {
            switch row {
            case .cells(let cells): output += line(cells) + "\n"
            case .section(let title): output += title + "\n"
            }
        }
        return output
    }
}

extension String {
    /// The string without its trailing characters that match: a row whose
    /// last cells are empty ends without padding.
    func trimmingSuffix(while matches: (Character) -> Bool) -> String {
        var end = endIndex
        while end > startIndex, matches(self[index(before: end)]) { end = index(before: end) }
        return String(self[..<end])
    }

    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
