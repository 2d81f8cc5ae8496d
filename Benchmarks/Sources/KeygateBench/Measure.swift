import Foundation

/// Timing helpers: monotonic clock, rates and percentiles.
enum Measure {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Operations per second of `body`, run `count` times after a warm-up.
    static func rate(count: Int, warmUp: Int = 1_000, _ body: (Int) throws -> Void) rethrows -> Double {
        for index in 0..<warmUp { try body(index) }
        let start = now()
        for index in 0..<count { try body(index) }
        return Double(count) / (Double(now() - start) / 1e9)
    }

    /// The middle of `values` (the mean of the middle two of an even count).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The median of the ratios of rounds taken in turn, `rates[i] / against[i]`:
    /// each ratio compares two measurements one phase of the machine shares,
    /// which two medians taken apart do not.
    static func medianRatio(_ rates: [Double], against: [Double]) -> Double {
        median(zip(rates, against).map { $0 / $1 })
    }

    static func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]) / 1_000
    }
}

/// One row of the result table, with its target when it has one.
struct Row {
    let name: String
    let value: String
    let target: String
    let met: Bool?
}

func printTable(_ rows: [Row]) {
    let widths = [rows.map(\.name.count).max() ?? 0, rows.map(\.value.count).max() ?? 0, rows.map(\.target.count).max() ?? 0]
    func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
    print(pad("benchmark", widths[0]) + "  " + pad("result", widths[1]) + "  " + pad("target", widths[2]) + "  met")
    for row in rows {
        let met = row.met.map { $0 ? "yes" : "NO" } ?? "-"
        print(pad(row.name, widths[0]) + "  " + pad(row.value, widths[1]) + "  " + pad(row.target, widths[2]) + "  " + met)
    }
}

/// Rounds of one rate as a row shows them: their median, then their range, `9,554 /s (9,421-9,757)`.
func formatted(rounds rates: [Double]) -> String {
    let (low, high) = (Int((rates.min() ?? 0).rounded()), Int((rates.max() ?? 0).rounded()))
    return "\(formatted(Measure.median(rates), "/s")) (\(low.formatted())-\(high.formatted()))"
}

func formatted(_ value: Double, _ unit: String) -> String {
    value >= 100 ? "\(Int(value.rounded()).formatted()) \(unit)" : String(format: "%.2f %@", value, unit)
}
