import Foundation

/// Server-rendered SVG charts. Colours come from CSS classes (`c0`…`c7`); every label is
/// escaped. Sizes are in viewBox units and scale with the page.
enum ConsoleChart {
    struct Bar: Sendable {
        var label: String
        var value: Double
        var display: String
        var colour: Int = 5
    }

    /// Horizontal bars, one row per item, longest first as given.
    static func bars(_ items: [Bar], title: String, width: Int = 400) -> String {
        guard !items.isEmpty else { return "<p class=\"empty\">No data in this range.</p>" }
        let row = 24, labelWidth = 140, valueWidth = 70
        let height = items.count * row + 8
        let maxValue = max(items.map(\.value).max() ?? 0, 1e-12)
        let plot = Double(width - labelWidth - valueWidth)
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(ConsoleHTML.escape(title))\"><title>\(ConsoleHTML.escape(title))</title>"
        for (i, item) in items.enumerated() {
            let y = i * row + 4
            let w = max(item.value > 0 ? 2 : 0, Int((item.value / maxValue * plot).rounded()))
            let label = item.label.count > 26 ? String(item.label.prefix(25)) + "…" : item.label
            svg += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 15)\" text-anchor=\"end\">\(ConsoleHTML.escape(label))</text>"
            svg += "<rect class=\"c\(item.colour % 8)\" x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"\(row - 8)\" rx=\"3\"></rect>"
            svg += "<text class=\"muted\" x=\"\(labelWidth + w + 6)\" y=\"\(y + 15)\">\(ConsoleHTML.escape(item.display))</text>"
        }
        return svg + "</svg>"
    }

    struct Column: Sendable {
        var label: String
        /// One value per series, stacked bottom-up in series order.
        var values: [Double]
    }

    /// Stacked columns over time with a legend; `series` names each stacked part.
    static func stackedColumns(_ columns: [Column], series: [(name: String, colour: Int)], title: String, width: Int = 1100, height: Int = 260) -> String {
        guard !columns.isEmpty else { return "<p class=\"empty\">No data in this range.</p>" }
        let left = 48, bottom = 22, top = 8
        let plotW = Double(width - left - 8), plotH = Double(height - bottom - top)
        let maxTotal = max(columns.map { $0.values.reduce(0, +) }.max() ?? 0, 1)
        let step = plotW / Double(columns.count)
        let barW = max(1.0, step * 0.8)
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(ConsoleHTML.escape(title))\"><title>\(ConsoleHTML.escape(title))</title>"
        svg += "<line class=\"axis\" x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 8)\" y2=\"\(height - bottom)\"></line>"
        svg += "<line class=\"axis\" x1=\"\(left)\" y1=\"\(top)\" x2=\"\(width - 8)\" y2=\"\(top)\"></line>"
        svg += "<text class=\"muted\" x=\"\(left - 6)\" y=\"\(top + 10)\" text-anchor=\"end\">\(ConsoleHTML.escape(ConsoleHTML.count(Int(maxTotal))))</text>"
        svg += "<text class=\"muted\" x=\"\(left - 6)\" y=\"\(height - bottom)\" text-anchor=\"end\">0</text>"
        for (i, column) in columns.enumerated() {
            let x = Double(left) + Double(i) * step + (step - barW) / 2
            var y = Double(height - bottom)
            for (s, value) in column.values.enumerated() where value > 0 {
                let h = value / maxTotal * plotH
                y -= h
                let colour = s < series.count ? series[s].colour : 3
                svg += String(format: "<rect class=\"c%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>", colour % 8, x, y, barW, max(h, 0.5))
                svg += ConsoleHTML.escape("\(column.label) \(s < series.count ? series[s].name : ""): \(Int(value))") + "</title></rect>"
            }
        }
        // First, middle and last bucket labels keep the axis readable at any bucket count.
        let labelled = Set([0, columns.count / 2, columns.count - 1])
        for i in labelled.sorted() {
            let x = Double(left) + Double(i) * step + step / 2
            let anchor = i == 0 ? "start" : (i == columns.count - 1 ? "end" : "middle")
            let tx = i == 0 ? Double(left) : (i == columns.count - 1 ? Double(width - 8) : x)
            svg += String(format: "<text class=\"muted\" x=\"%.1f\" y=\"%d\" ", tx, height - 6) + "text-anchor=\"\(anchor)\">"
            svg += ConsoleHTML.escape(columns[i].label) + "</text>"
        }
        svg += "</svg><div class=\"legend\">"
        for s in series {
            svg += "<span><svg viewBox=\"0 0 10 10\" aria-hidden=\"true\"><rect class=\"c\(s.colour % 8)\" width=\"10\" height=\"10\" rx=\"2\"></rect></svg>\(ConsoleHTML.escape(s.name))</span>"
        }
        return svg + "</div>"
    }
}
