//go:build noazure

package store

const azureLinked = false
