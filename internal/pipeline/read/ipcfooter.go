package read

import (
	"encoding/binary"
	"fmt"
	"io"
)

// An Arrow IPC file ends with a footer (a FlatBuffers Footer table holding the schema and
// the positions of the dictionary and record batches), its length as an int32 and the
// magic. Writers also put the schema at the start of the stream inside the file, except
// apache-arrow for JavaScript, whose files hold it only in the footer. The reader decodes
// the file in order, as a stream; for such a file footerSchema builds the stream's missing
// first message from the footer's schema.

// footerSchema reads the footer of the IPC file of size bytes in r. It returns where the
// footer starts (0 when the file has no readable footer: a truncated file is then read
// as a stream up to its end, and fails there if it must) and, when the stream inside the
// file does not start with a schema message, a schema message built from the footer's
// schema, to be read before the stream.
func footerSchema(r io.ReaderAt, size int64) (msg []byte, footerStart int64, err error) {
	const tail = 4 + 6 // footer length, magic
	if size < 8+tail {
		return nil, 0, nil
	}
	var t [tail]byte
	if _, err := r.ReadAt(t[:], size-tail); err != nil {
		return nil, 0, nil
	}
	if string(t[4:]) != string(arrowMagic) {
		return nil, 0, nil // truncated: no footer
	}
	n := int64(int32(binary.LittleEndian.Uint32(t[:4])))
	footerStart = size - tail - n
	if n <= 0 || footerStart < 8 {
		return nil, 0, fmt.Errorf("%w: footer of %d bytes in a file of %d", ErrMalformed, n, size)
	}
	first, err := firstMessageType(r, 8, footerStart)
	if err != nil || first == headerSchema {
		// A stream that starts with its schema (or that the stream decoder will report
		// as corrupt) needs nothing from the footer.
		return nil, footerStart, nil
	}
	footer := make([]byte, n)
	if _, err := r.ReadAt(footer, footerStart); err != nil {
		return nil, 0, fmt.Errorf("%w: reading the footer: %w", ErrMalformed, err)
	}
	root, err := fbRoot(footer)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: footer: %w", ErrMalformed, err)
	}
	schema, ok, err := root.table(1)
	if err != nil || !ok {
		return nil, 0, fmt.Errorf("%w: the stream has no schema and the footer none either", ErrMalformed)
	}
	return schemaMessage(footer, schema.pos), footerStart, nil
}

// firstMessageType returns the header type of the IPC message at off, or an error when
// its metadata cannot be read.
func firstMessageType(r io.ReaderAt, off, end int64) (uint8, error) {
	var w [8]byte
	if end-off < 8 {
		return 0, io.ErrUnexpectedEOF
	}
	if _, err := r.ReadAt(w[:], off); err != nil {
		return 0, err
	}
	n := int64(binary.LittleEndian.Uint32(w[:4]))
	off += 4
	if n == 0xFFFFFFFF {
		n = int64(binary.LittleEndian.Uint32(w[4:]))
		off += 4
	}
	if n <= 0 || n > end-off || n > 64<<20 {
		return 0, errMetadata
	}
	meta := make([]byte, n)
	if _, err := r.ReadAt(meta, off); err != nil {
		return 0, err
	}
	m, err := fbRoot(meta)
	if err != nil {
		return 0, err
	}
	return m.uint8(1)
}

// schemaMessage returns an encapsulated IPC message (continuation marker, metadata
// length, metadata padded to 8 bytes; no body) whose metadata is a FlatBuffers Message
// table of header type Schema pointing at the Schema table at pos in fb. The Message
// table is written in front of a copy of fb, so every offset inside fb keeps its meaning.
func schemaMessage(fb []byte, pos int) []byte {
	const (
		vtablePos = 4
		tablePos  = 16
		fbPos     = tablePos + 24
	)
	meta := make([]byte, fbPos+len(fb))
	le := binary.LittleEndian
	le.PutUint32(meta[0:], tablePos) // root: the Message table
	// vtable: its size, the table's size, then the offsets of fields 0–3 (version,
	// header_type, header, bodyLength) from the table's start.
	for i, v := range []uint16{12, 20, 16, 18, 4, 8} {
		le.PutUint16(meta[vtablePos+2*i:], v)
	}
	le.PutUint32(meta[tablePos:], uint32(tablePos-vtablePos)) // soffset to the vtable
	le.PutUint32(meta[tablePos+4:], uint32(fbPos+pos-(tablePos+4)))
	le.PutUint64(meta[tablePos+8:], 0)  // bodyLength
	le.PutUint16(meta[tablePos+16:], 4) // MetadataVersion V5
	meta[tablePos+18] = headerSchema
	copy(meta[fbPos:], fb)
	for len(meta)%8 != 0 {
		meta = append(meta, 0)
	}
	msg := make([]byte, 8, 8+len(meta))
	le.PutUint32(msg[0:], 0xFFFFFFFF)
	le.PutUint32(msg[4:], uint32(len(meta)))
	return append(msg, meta...)
}
