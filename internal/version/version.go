// Package version reports the build's version, commit and Go version. Version and Commit
// are set at link time by the Makefile (-X); a plain `go build` or `go run` falls back to
// the module and VCS information the Go toolchain embeds.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/backbone-dev/backbone/internal/version.Version=… -X ….Commit=…".
var (
	Version = ""
	Commit  = ""
)

// Info describes a build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build's Info.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if info.Commit == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					info.Commit = s.Value
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// String formats Info on one line.
func (i Info) String() string {
	return fmt.Sprintf("backbone %s (commit %s, %s, %s)", i.Version, i.Commit, i.GoVersion, i.Platform)
}

// ImageRepository is where the project publishes its container image.
const ImageRepository = "ghcr.io/backbone-dev/backbone"

// Image is the container image of this build: the manager runs its Jobs with the same
// version it is. A development build names the "latest" tag.
func Image() string {
	v := Get().Version
	if v == "devel" {
		v = "latest"
	}
	return ImageRepository + ":" + v
}

// Engine is the version of this build's engine, part of every result's id: a new engine
// recomputes what an older one computed.
func Engine() string {
	v := Get()
	return v.Version + "+" + v.Commit
}
