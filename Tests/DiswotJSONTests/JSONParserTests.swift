import DiswotJSON
import Foundation
import XCTest

/// The strict RFC 8259 reader behind `JSONValue.parse` (issue 11, item 8): what the RFC's
/// grammar accepts is read exactly (integers up to 2⁶⁴ − 1 included), anything else is
/// refused with the offending byte's offset and a reason.
final class JSONParserTests: XCTestCase {
  private func parse(_ text: String) throws -> JSONValue { try JSONValue.parsing(Array(text.utf8)) }

  private func refuse(_ text: String, _ reason: String, at offset: Int? = nil, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try parse(text), file: file, line: line) { error in
      guard let error = error as? JSONSyntaxError else { return XCTFail("\(error)", file: file, line: line) }
      XCTAssertTrue(error.reason.contains(reason), "\(text.debugDescription): \(error)", file: file, line: line)
      if let offset { XCTAssertEqual(error.offset, offset, "\(text.debugDescription): \(error)", file: file, line: line) }
    }
    XCTAssertNil(JSONValue.parse(text), file: file, line: line)
  }

  func testReadsEveryKindOfValue() throws {
    let value = try parse(#" { "a" : [1, -2, 0.5, -0, 1E+2, 2.5e-3, true, false, null, "", "x"], "b": {}, "c": [], "d": {"e": [[]]} } "#)
    XCTAssertEqual(value, [
      "a": [1, -2, 0.5, 0, .double(100), 0.0025, true, false, nil, "", "x"], "b": [:], "c": [], "d": ["e": [[]]],
    ])
    XCTAssertEqual(try parse("42"), 42, "any value at the top level")
    XCTAssertEqual(try parse("\t\r\n\"s\" "), "s")
  }

  func testIntegersAreExactUpTo2To64() throws {
    XCTAssertEqual(try parse("9223372036854775807"), .int(.max))
    XCTAssertEqual(try parse("-9223372036854775808"), .int(.min))
    XCTAssertEqual(try parse("9223372036854775808"), .uint(9_223_372_036_854_775_808))
    XCTAssertEqual(try parse("18446744073709551615"), .uint(.max))
    XCTAssertEqual(try parse("18446744073709551615").uint64Value, .max)
    XCTAssertEqual(try parse("7").uint64Value, 7)
    XCTAssertNil(try parse("-7").uint64Value)
    XCTAssertNil(try parse("18446744073709551615").intValue)
    XCTAssertEqual(try parse("18446744073709551616"), .double(18_446_744_073_709_551_616), "beyond UInt64: a number")
    XCTAssertEqual(try parse("-9223372036854775809"), .double(-9_223_372_036_854_775_808), "the nearest Double")
    XCTAssertEqual(try parse("1.0"), .double(1), "a fraction makes a number, not an integer")
    XCTAssertEqual(try parse("1e2"), .double(100))

    // Written back exactly, and through Codable into a UInt64 field.
    XCTAssertEqual(JSONValue.object(["seed": .uint(.max)]).compactText, #"{"seed":18446744073709551615}"#)
    struct Seeded: Decodable { var seed: UInt64 }
    let decoded = try JSONDecoder().decode(Seeded.self, from: Data(try parse(#"{"seed": 18446744073709551614}"#).compactText.utf8))
    XCTAssertEqual(decoded.seed, 18_446_744_073_709_551_614)
    XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: Data("18446744073709551615".utf8)), .uint(.max))
  }

  func testStringsAndEscapes() throws {
    XCTAssertEqual(try parse(#""a\"b\\c\/d\b\f\n\r\t""#), "a\"b\\c/d\u{08}\u{0C}\n\r\t")
    XCTAssertEqual(try parse(#""\u00e9\u4E2D\ud83d\ude00""#), "é中😀")
    XCTAssertEqual(try parse("\"é中😀 plain\""), "é中😀 plain")
    XCTAssertEqual(try parse(#""x\u0000y""#), "x\u{0}y")
  }

  func testRefusesWhatTheGrammarDoesNot() {
    refuse(#"{"limit":5,}"#, "trailing comma before '}'", at: 11)
    refuse("[1,2,]", "trailing comma before ']'", at: 5)
    refuse("[1,,2]", "expected a value", at: 3)
    refuse(#"{"a":1 "b":2}"#, "expected ',' or '}'", at: 7)
    refuse(#"{a:1}"#, "expected a member name in quotes", at: 1)
    refuse(#"{'a':1}"#, "expected a member name in quotes", at: 1)
    refuse(#"{"a" 1}"#, "expected ':'", at: 5)
    refuse("01", "leading zero", at: 1)
    refuse("-01", "leading zero", at: 2)
    refuse("+1", "expected a value", at: 0)
    refuse(".5", "expected a value", at: 0)
    refuse("1.", "'.' not followed by a digit", at: 2)
    refuse("1e", "exponent without digits", at: 2)
    refuse("-", "'-' not followed by a digit", at: 1)
    refuse("NaN", "expected a value", at: 0)
    refuse("Infinity", "expected a value", at: 0)
    refuse("-Infinity", "'-' not followed by a digit", at: 1)
    refuse("1e400", "out of range", at: 0)
    refuse("tru", "expected a value", at: 0)
    refuse("nul", "expected a value", at: 0)
    refuse("// comment\n{}", "expected a value", at: 0)
    refuse("{} {}", "after the value", at: 3)
    refuse("", "empty")
    refuse("   ", "empty")
    refuse("\"abc", "end of text inside a string")
    refuse("\"a\u{1}b\"", "control character (0x01)", at: 2)
    refuse("\"a\tb\"", "control character (0x09)", at: 2)
    refuse(#""\x""#, #"unknown escape '\x'"#, at: 1)
    refuse(#""\u12""#, "4 hexadecimal digits")
    refuse(#""\ud83d""#, #"high surrogate \uD83D without its low half"#, at: 1)
    refuse(#""\ud83d\u0041""#, "not a low surrogate", at: 1)
    refuse(#""\ude00""#, #"low surrogate \uDE00 without its high half"#, at: 1)
    refuse(#"{"a":1,"a":2}"#, "member name 'a' repeated", at: 7)
    refuse("\u{FEFF}{}", "byte order mark", at: 0)
  }

  func testRefusesInvalidUTF8AtTheFirstBadByte() {
    for (bytes, offset) in [([0x22, 0xFF, 0x22], 1), ([0x22, 0xC0, 0x80, 0x22], 1), ([0x22, 0xED, 0xA0, 0x80, 0x22], 1),
                            ([0x22, 0x61, 0xE2, 0x82], 2), ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1)] as [([UInt8], Int)] {
      XCTAssertThrowsError(try JSONValue.parsing(bytes)) { error in
        XCTAssertEqual(error as? JSONSyntaxError, JSONSyntaxError(offset: offset, reason: "invalid UTF-8"), "\(bytes)")
      }
    }
  }

  func testNestingIsLimited() throws {
    let deep = { (n: Int) in String(repeating: "[", count: n) + String(repeating: "]", count: n) }
    XCTAssertNoThrow(try JSONValue.parsing(Array(deep(64).utf8), maxDepth: 64))
    XCTAssertThrowsError(try JSONValue.parsing(Array(deep(65).utf8), maxDepth: 64)) { error in
      XCTAssertEqual((error as? JSONSyntaxError)?.isTooDeep, true)
      XCTAssertEqual((error as? JSONSyntaxError)?.offset, 64)
    }
    // The default limit keeps hostile input from exhausting the stack.
    XCTAssertNil(JSONValue.parse(deep(100_000)))
  }

  func testWhatItWritesItReadsBack() throws {
    let value: JSONValue = [
      "text": "quote \" backslash \\ tab \t newline \n nul \u{0} é 😀", "numbers": [0, -1, 0.1, 1e-300, 1.7976931348623157e308, .uint(.max)],
      "nested": ["a": [["b": nil]], "c": true],
    ]
    XCTAssertEqual(try parse(value.compactText), value)
  }
}
