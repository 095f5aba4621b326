import XCTest
final class PDiswotDataTestsTests: XCTestCase { func testNothing() {} }
