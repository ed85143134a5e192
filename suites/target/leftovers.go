package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/moby/moby/client"
)

var reapOnce sync.Once

// RemoveLeftovers removes the containers that a hookproof process on this host started and
// could not remove because it died (SIGKILL, power loss): those labelled hookproof=1 whose
// hookproof.pid is no longer alive. Containers of live processes, and of other hosts sharing the
// engine, are left alone, so parallel test runs do not remove each other's endpoints.
func RemoveLeftovers(ctx context.Context) error {
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	host, _ := os.Hostname()
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", LabelOwned+"=1"),
	})
	if err != nil {
		return fmt.Errorf("list hookproof containers: %w", err)
	}
	var errs []error
	for _, s := range list.Items {
		if s.Labels[LabelHost] != host || processAlive(s.Labels[LabelPID]) {
			continue
		}
		if _, err := cli.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove leftover container %s: %w", s.ID[:12], err))
		}
	}
	return errors.Join(errs...)
}

// processAlive reports whether pid names a live process here; an unreadable label counts as
// alive, so a container is never removed on a guess.
func processAlive(pid string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return true
	}
	err = syscall.Kill(n, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
