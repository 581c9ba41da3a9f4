import Testing

@testable import AirlockPolicy

@Suite("Policy diff")
struct PolicyDiffTests {
    @Test func identicalTextsHaveNoChanges() {
        let d = PolicyDiff(old: "a\nb\n", new: "a\nb\n")
        #expect(!d.hasChanges && d.unified() == "" && d.lines.count == 2)
    }

    @Test func changedLineIsRemovedThenAdded() {
        let old = "name: kr\nrules:\n  - id: a\n    action: mask\n  - id: b\n"
        let new = "name: kr\nrules:\n  - id: a\n    action: block\n  - id: b\n  - id: c\n"
        let d = PolicyDiff(old: old, new: new)
        #expect(d.added == 2 && d.removed == 1)
        #expect(d.unified(oldName: "kr v1", newName: "kr v2", context: 1) == """
            --- kr v1
            +++ kr v2
            @@ -3,3 +3,4 @@
               - id: a
            -    action: mask
            +    action: block
               - id: b
            +  - id: c

            """)
    }

    @Test func separateHunksAndLineNumbers() {
        let old = (1...20).map { "line \($0)" }.joined(separator: "\n")
        var newLines = (1...20).map { "line \($0)" }
        newLines[1] = "changed 2"
        newLines.remove(at: 17)
        let d = PolicyDiff(old: old, new: newLines.joined(separator: "\n"))
        let text = d.unified(context: 2)
        #expect(text.components(separatedBy: "\n@@").count == 3)
        #expect(text.contains("@@ -1,4 +1,4 @@"))
        #expect(text.contains("@@ -16,5 +16,4 @@"))
        let removed = d.lines.first { $0.kind == .removed && $0.text == "line 18" }
        #expect(removed?.oldLine == 18 && removed?.newLine == nil)
    }

    @Test func fromEmptyAndCRLF() {
        let d = PolicyDiff(old: "", new: "a\r\nb\r\n")
        #expect(d.lines.map(\.text) == ["a", "b"] && d.added == 2)
        #expect(d.unified().contains("@@ -0,0 +1,2 @@"))
    }
}
