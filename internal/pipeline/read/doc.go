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
// Text formats (CSV, JSON Lines, XLSX) produce a string column per declared
// column; an empty value is null and nothing is parsed here — checking values
// against the declared types is the job of the validation step, which knows
// the row numbers. Binary formats (Parquet, Arrow IPC) produce the file's own
// Arrow types for the declared columns; a dictionary-encoded column stays a
// dictionary array.
//
// Memory: text readers hold one batch of column buffers plus a 1 MiB read
// buffer; a batch is also cut short once a column holds more than 128 MiB of
// text, and a single CSV record or JSON line may not exceed 64 MiB (a missing
// closing quote would otherwise swallow the rest of the file). Parquet is read
// one batch at a time through buffered column-chunk streams, only for the
// declared columns; Arrow IPC is read one record batch at a time (the writer's
// batch size bounds memory) and handed out in slices of at most BatchRows
// rows. XLSX is the exception: a workbook is a zip archive, and the
// spreadsheet library keeps the compressed file and the shared-string table in
// memory, while the worksheet itself is streamed (a sheet holds at most
// 1,048,576 rows).
//
// Errors name the row, the line when it differs, and the column or key, and
// wrap the package's sentinel errors ([ErrColumnNotFound], [ErrFieldCount], …)
// for errors.Is. No input makes the package panic: a panic inside a
// third-party decoder is recovered at the package boundary and returned as an
// error wrapping [ErrMalformed].
package read
