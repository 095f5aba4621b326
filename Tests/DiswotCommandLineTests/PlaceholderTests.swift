import XCTest
final class PDiswotCommandLineTestsTests: XCTestCase { func testNothing() {} }
