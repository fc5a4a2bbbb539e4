// See include/CSQLiteFunctions.h. SQLite's documentation: "Application-Defined SQL Functions"
// (sqlite3_create_function_v2, SQLITE_DETERMINISTIC, SQLITE_INNOCUOUS); RFC 8259, section 7
// (a string's unescaped characters: any but the quotation mark, the reverse solidus and the
// control characters U+0000 to U+001F).
#include "CSQLiteFunctions.h"

#include <stddef.h>
#include <sqlite3.h>

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
    for (int index = 1; index < length - 1; index++) {
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
