//go:build unix

package chaos

import (
	"net"
	"syscall"
)

// peerOpen reports whether an idle connection is still open at the other end: a
// non-blocking peek that sees neither data nor end of stream. A connection it cannot
// inspect counts as open.
func peerOpen(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := true
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing to read, still open. n == 0 without error: end of stream. Data on
		// an idle connection is a protocol error: drop it too.
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		_ = n
		return true
	})
	return err == nil && open
}
