// Package cli holds what Backbone's three binaries share around their commands: a root
// command that leaves errors to Main, and how Main reports a failure.
package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Root returns a root command that prints neither its usage nor its error when a command
// fails: Main reports the error, once.
func Root(use, short string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, SilenceUsage: true, SilenceErrors: true}
}

// Main runs root and, when it fails, writes "Error: " and the error to standard error and
// exits with status 1. A Job pod's termination message is that line
// (terminationMessagePolicy: FallbackToLogsOnError).
func Main(root *cobra.Command) {
	if code := run(root, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

func run(root *cobra.Command, stderr io.Writer) int {
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	return 0
}
