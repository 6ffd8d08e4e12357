// Package read turns one data file — CSV, JSON Lines, XLSX, Parquet or Arrow
// IPC — into a stream of Arrow record batches holding the declared columns,
// in bounded memory whatever the size of the file.
//
// [Open] returns a [Reader]; each call to [Reader.Next] returns at most
// [Options.BatchRows] rows. Rows are numbered from 1, counting data rows
// only (a header row is not counted), and the numbering runs on across
// batches: [Reader.FirstRow] gives the number of a batch's first row, so a
// later step can report a rejected value as "row 1207, column race".
//
// # Values
//
// Text formats (CSV, JSON Lines, XLSX) produce a string column per declared
// column. An empty value is null, and nothing is parsed here: checking values
// against the declared types is the job of the validation step, which knows
// the row numbers. Text is passed on byte for byte, without checking that it
// is valid UTF-8, so that validation can reject the offending rows rather
// than the whole file.
//
//   - CSV follows RFC 4180 as encoding/csv reads it: a quoted field may hold
//     delimiters, line breaks and doubled quotes; any other quote is an
//     error. A UTF-8 byte order mark is skipped, spaces around header names
//     are trimmed, and empty lines are skipped.
//   - JSON Lines holds one object per line; blank lines are skipped. A string
//     is read as is, a number as written (1.50 stays 1.50), a boolean as true
//     or false; null, a missing key and "" are null. Keys that are not
//     declared are ignored; an object or array under a declared key is an
//     error.
//   - XLSX cells are read as the user typed them rather than as displayed:
//     numbers as stored (up to Excel's 15 digits), not as "$1,234.50" or
//     "25%"; numbers with a date format as ISO 8601 (2024-08-01,
//     2024-08-01T07:30:00, 07:30:00); numbers with a zero-padding format such
//     as 00000 padded, so that codes keep their leading zeros; formulas as
//     their last computed value; booleans as TRUE or FALSE. Rows with no
//     value are skipped. A formula saved without its value, an error value
//     (#DIV/0!) and a cell covered by merged cells (other than the range's
//     top-left cell) are reported by [Reader.Problems], so that their rows
//     are rejected rather than read as empty.
//
// Binary formats (Parquet, Arrow IPC) produce the file's own Arrow types for
// the declared columns. A dictionary-encoded column stays a dictionary array
// (Parquet files written by Arrow record which columns were dictionaries).
// Arrow IPC record batches are validated in full — offsets, dictionary
// indices, UTF-8 — before they are handed out.
//
// # Memory
//
// Text readers hold one batch of column buffers and a read buffer of at most
// 1 MiB. A batch ends early once a column holds more than 128 MiB of text,
// and a CSV record or JSON line may not exceed 64 MiB (an unbalanced quote
// would otherwise pull the rest of the file into one record). Parquet is read
// a batch at a time through buffered column-chunk streams, only for the
// declared columns. Arrow IPC is read one record batch at a time, so the
// writer's batch size bounds memory, and handed out in slices of at most
// BatchRows rows; an IPC file is read in order, like a stream, without its
// footer. XLSX is the exception: a workbook is a zip archive, which the
// spreadsheet library holds in memory, compressed; the worksheet and the
// shared strings are streamed, from temporary files when larger than 16 MiB
// (a sheet has at most 1,048,576 rows).
//
// # Errors
//
// Errors name the row, the line when it differs, and the column or key,
// and wrap the package's sentinel errors ([ErrColumnNotFound],
// [ErrFieldCount], …) for errors.Is. No input makes the package panic: a
// panic inside a third-party decoder is recovered at the package boundary
// and returned as an error wrapping [ErrMalformed], and Arrow IPC metadata
// — including the Arrow schema stored in Parquet files — is checked before
// the decoder trusts its lengths.
package read
