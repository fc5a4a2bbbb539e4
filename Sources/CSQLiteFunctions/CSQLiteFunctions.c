// See include/CSQLiteFunctions.h. SQLite's documentation: "Application-Defined SQL Functions"
// (sqlite3_create_function_v2, SQLITE_DETERMINISTIC, SQLITE_INNOCUOUS); RFC 8259, section 7
// (a string's unescaped characters: any but the quotation mark, the reverse solidus and the
// control characters U+0000 to U+001F).
#include "CSQLiteFunctions.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sqlite3.h>

// Eight bytes at a time: whether any byte of `word` is `"`, `\` or below 0x20. Each test is
// the exact "has a zero byte" / "has a byte less than n" word test (a borrow can only set the
// high bit of a byte above a byte that matched, so the word's answer is exact); bytes of 0x80
// and above (UTF-8 sequences) never match.
static int has_special(uint64_t word) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = word ^ (ones * '"');
    uint64_t backslash = word ^ (ones * '\\');
    uint64_t found = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | ((word - ones * 0x20) & ~word);
    return (found & highs) != 0;
}

static void agent_memory_body(sqlite3_context *context, int argc, sqlite3_value **argv) {
    (void)argc;
    if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
        return;  // NULL: not a stored value's text
    }
    const unsigned char *text = sqlite3_value_text(argv[0]);
    int length = sqlite3_value_bytes(argv[0]);
    if (text == NULL || length < 2 || text[0] != '"' || text[length - 1] != '"') {
        return;  // NULL: not a JSON string (or not one without surrounding space)
    }
    int index = 1;
    for (; index + 8 <= length - 1; index += 8) {
        uint64_t word;
        memcpy(&word, text + index, 8);
        if (has_special(word)) {
            break;  // the byte loop below finds which
        }
    }
    for (; index < length - 1; index++) {
        unsigned char byte = text[index];
        if (byte == '"' || byte == '\\' || byte < 0x20) {
            return;  // NULL: an escape to decode (or not valid JSON): SQLite's functions decide
        }
    }
    sqlite3_result_text(context, (const char *)text + 1, length - 2, SQLITE_TRANSIENT);
}

int csqlitefunctions_register_body(sqlite3 *db) {
    return sqlite3_create_function_v2(
        db, "agent_memory_body", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, agent_memory_body, NULL, NULL,
        NULL);
}
