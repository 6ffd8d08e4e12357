// Writes the Arrow IPC files of internal/pipeline/read/testdata/arrowjs with apache-arrow
// for JavaScript, whose IPC files carry the schema only in their footer.
//
//   cp hack/arrowjs/gen.mjs DIR && cd DIR && npm install apache-arrow@21.2.0 && node gen.mjs OUT
import {
  tableFromArrays, tableToIPC, vectorFromArray, makeTable, Table,
  Utf8, Int64, Float64, DateDay, Bool,
} from 'apache-arrow';
import { writeFileSync } from 'fs';
import { join } from 'path';

const out = process.argv[2] ?? '.';

// Strings become dictionaries, as tableFromArrays makes them.
const dict = tableFromArrays({
  day: ['2026-01-01', '2026-01-02', '2026-01-15', '2026-02-03', '2026-02-04'],
  visits: Int32Array.from([1, 2, 3, 4, 5]),
});
writeFileSync(join(out, 'dictionary-file.arrow'), tableToIPC(dict, 'file'));
writeFileSync(join(out, 'dictionary-stream.arrow'), tableToIPC(dict, 'stream'));

// Plain types with nulls, in two record batches.
const batch = (from) => makeTable({
  site: vectorFromArray(['North', null, 'South'].map((s) => s && s + from), new Utf8()),
  day: vectorFromArray([Date.UTC(2026, 0, 1 + from), Date.UTC(2026, 0, 2 + from), null], new DateDay()),
  visits: vectorFromArray([BigInt(from), null, 7n], new Int64()),
  score: vectorFromArray([0.5, 1.25, null], new Float64()),
  ok: vectorFromArray([true, false, null], new Bool()),
});
const two = new Table([...batch(0).batches, ...batch(10).batches]);
writeFileSync(join(out, 'types-file.arrow'), tableToIPC(two, 'file'));
