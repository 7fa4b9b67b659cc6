/** Comments carry user text: commentText makes it safe, COMMENT_TEXT (the guards) accepts only that. */
import { COMMENT_MAX, COMMENT_TEXT, commentText } from "../../provider/ruleset/comment";

test.each<[string, string, string]>([
  ["an endpoint name", "shop/db-1", "shop/db-1"],
  ["a Calico selector", "role == 'db' && has(tier)", "role == 'db' && has(tier)"],
  ["a double quote ends nothing", 'a" : accept', "a? : accept"],
  ["a line break and tabs are one space", "a\n\t b\r\nc", "a b c"],
  ["braces, #, $, backslash and backtick", "{ x } # $(y) \\ `z`", "? x ? ? ?(y) ? ?z?"],
  ["non-ASCII", "café→", "caf??"],
  ["the hash prefix, anywhere", "netpol:ab, x netpol:cd", "netpol?ab, x netpol?cd"],
])("%s", (_what, text, safe) => {
  expect(commentText(text)).toBe(safe);
  expect(COMMENT_TEXT.test(commentText(text))).toBe(true);
});

test("a long text is cut to nft's 128 characters, ending in ...", () => {
  const cut = commentText("x".repeat(300));
  expect(cut).toHaveLength(COMMENT_MAX);
  expect(cut.endsWith("...")).toBe(true);
  expect(COMMENT_TEXT.test(cut)).toBe(true);
  expect(COMMENT_TEXT.test("x".repeat(129))).toBe(false);
});

test.each(['a"b', "a\nb", "a{b", "a}b", "a#b", "a$b", "a\\b", "netpol:ab"])("the guards refuse %j in a comment", (text) => {
  expect(COMMENT_TEXT.test(text)).toBe(false);
});
