package validate

import (
	"encoding/json"
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// normalize returns a deep copy of a decoded manifest value holding only the types the API
// server's JSON decoder produces: map[string]interface{}, []interface{}, string, bool, nil,
// int64 and float64.
//
// kubectl sends a manifest as JSON written by encoding/json, which spells a whole float64 such
// as 3.0 as 3, and the API server decodes a number to int64 when it can. A YAML or JSON decoder
// into interface{} gives float64 for every number instead, and the schema and CEL validation
// tell integers from numbers by Go type: so every whole number that fits int64 becomes an
// int64 here. Other Go values (ints, typed slices and maps, structs) are converted through
// their JSON encoding.
func normalize(v interface{}, path *field.Path) (interface{}, *field.Error) {
	switch x := v.(type) {
	case nil, string, bool, int64:
		return x, nil
	case map[string]interface{}:
		out := make(map[string]interface{}, len(x))
		for k, e := range x {
			n, err := normalize(e, path.Child(k))
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []interface{}:
		out := make([]interface{}, len(x))
		for i, e := range x {
			n, err := normalize(e, path.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case float64:
		return normalizeFloat(x, path)
	case float32:
		return normalizeFloat(float64(x), path)
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		return normalizeUint(uint64(x)), nil
	case uint64:
		return normalizeUint(x), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, invalidValue(path, fmt.Sprintf("%q is not a number", x.String()))
		}
		return normalizeFloat(f, path)
	default:
		data, err := json.Marshal(x)
		if err != nil {
			return nil, invalidValue(path, fmt.Sprintf("a %T cannot be encoded as JSON: %v", x, err))
		}
		var decoded interface{}
		if err := json.Unmarshal(data, &decoded); err != nil {
			return nil, invalidValue(path, fmt.Sprintf("a %T cannot be encoded as JSON: %v", x, err))
		}
		return normalize(decoded, path)
	}
}

func normalizeFloat(f float64, path *field.Path) (interface{}, *field.Error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, invalidValue(path, "must be a finite number: JSON has no NaN or infinity")
	}
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f), nil
	}
	return f, nil
}

func normalizeUint(u uint64) interface{} {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return float64(u)
}

func invalidValue(path *field.Path, detail string) *field.Error {
	if path == nil {
		path = field.NewPath("")
	}
	return field.Invalid(path, field.OmitValueType{}, detail)
}
