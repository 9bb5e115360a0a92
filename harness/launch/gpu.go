package launch

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/servegate/servegate/harness/gpu"
)

// memoryReader reads every device's memory now (gpu.Sampler).
type memoryReader interface {
	Read() ([]gpu.Sample, error)
}

// releaseSlackMB is how far above its level before launch a device's used memory may stay
// after the server stops: the driver's own allocations move a little.
const releaseSlackMB = 512

// waitReleased polls until every device's used memory is back within releaseSlackMB of
// baseline, or timeout passes.
func waitReleased(r memoryReader, baseline []gpu.Sample, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	wait := 100 * time.Millisecond
	for {
		now, err := r.Read()
		if err != nil {
			return fmt.Errorf("check GPU memory release: %w", err)
		}
		held := ""
		for _, b := range baseline {
			for _, n := range now {
				if n.Device == b.Device && n.MemoryUsedMB > b.MemoryUsedMB+releaseSlackMB {
					held += fmt.Sprintf(" device %d holds %.0f MiB (%.0f before launch);", n.Device, n.MemoryUsedMB, b.MemoryUsedMB)
				}
			}
		}
		if held == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GPU memory not released %v after the server stopped:%s see nvidia-smi for the process holding it", timeout, held)
		}
		<-time.After(wait)
		wait = min(wait*2, 2*time.Second)
	}
}

// selectGPUs makes the sampler read the devices the server uses: the gpus setting, else
// CUDA_VISIBLE_DEVICES as a launched server gets it (env, the launch environment added to
// this process's); without either, every GPU, and Info says so.
func (s *Server) selectGPUs(env []string) error {
	set, sampler := s.opt.Settings, s.opt.GPU
	ids, why := set.GPUs, "the gpus setting"
	if len(ids) == 0 && !s.Info.Attached {
		v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES")
		why = "CUDA_VISIBLE_DEVICES the server inherits"
		for _, kv := range env {
			if val, found := strings.CutPrefix(kv, "CUDA_VISIBLE_DEVICES="); found {
				v, ok, why = val, true, "CUDA_VISIBLE_DEVICES in its launch environment"
			}
		}
		if ok {
			ids = deviceList(v)
			if len(ids) == 0 {
				ids = []string{} // set, naming no device: the server sees none
			}
		}
	}
	switch {
	case ids == nil:
		hint := "neither gpus nor CUDA_VISIBLE_DEVICES is set"
		if s.Info.Attached {
			hint = "attached, and no gpus setting names the server's"
		}
		sampler.SelectAll(hint)
	default:
		if err := sampler.Select(ids, why); err != nil {
			return fmt.Errorf("start %s: sample its GPUs: %w", s.Spec.Name, err)
		}
	}
	s.Info.GPUs = sampler.Selection()
	s.opt.logf("%s: sampling GPUs %s", s.Spec.Name, s.Info.GPUs)
	return nil
}
