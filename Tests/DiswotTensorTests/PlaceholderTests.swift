import XCTest
final class PDiswotTensorTestsTests: XCTestCase { func testNothing() {} }
