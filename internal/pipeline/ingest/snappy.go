package ingest

import (
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/s2"
)

// arrow-go's Snappy codec encodes with s2.EncodeSnappyBetter, which spends about three times
// the CPU of the standard Snappy encoder for a few percent smaller pages. A snapshot is
// written once per ingest and read by every aggregation, so the standard encoder is
// registered instead: its output is ordinary Snappy, readable by every Parquet reader
// (DuckDB writes its Parquet the same way). Decoding is unchanged.
func init() {
	std, err := compress.GetCodec(compress.Codecs.Snappy)
	if err != nil {
		panic(err)
	}
	compress.RegisterCodec(compress.Codecs.Snappy, fastSnappy{std})
}

type fastSnappy struct{ compress.Codec }

func (fastSnappy) Encode(dst, src []byte) []byte { return s2.EncodeSnappy(dst, src) }

func (fastSnappy) EncodeLevel(dst, src []byte, _ int) []byte { return s2.EncodeSnappy(dst, src) }
