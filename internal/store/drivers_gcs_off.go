//go:build nogcs

package store

const gcsLinked = false
