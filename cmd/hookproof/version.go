package main

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"
