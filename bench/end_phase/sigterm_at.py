# Run a command, print its stderr lines with the seconds since start, and send SIGTERM after
# argv[1] seconds (0: never); prints the exit code. Used by bench/end_phase.sh.
import subprocess, sys, time, signal
t0=time.time()
p=subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
kill_at=float(sys.argv[1])
import threading
def killer():
    if kill_at>0:
        time.sleep(kill_at); p.send_signal(signal.SIGTERM); print(f"{time.time()-t0:7.2f} SIGTERM sent", flush=True)
threading.Thread(target=killer,daemon=True).start()
for line in p.stderr:
    print(f"{time.time()-t0:7.2f} {line.rstrip()[-150:]}", flush=True)
rc=p.wait(); print(f"{time.time()-t0:7.2f} exit {rc}")
