// What Linux says about a process and the machine (/proc): CPU time and resident memory.
import fs from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, all its threads together. */
export function cpuSeconds(pid) {
  // The fields after the command name, which is in parentheses and may itself hold spaces.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1).split(' ');
  const [utime, stime] = [fields[11], fields[12]].map(Number);
  return (utime + stime) / TICKS_PER_SECOND;
}

/**
 * CPU seconds the processes `pids` have used so far together; one that has ended counts no more
 * (PostgreSQL's backends end with their connection, which a busy pool keeps open).
 */
export function cpuSecondsOfAll(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      total += cpuSeconds(pid);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
  }
  return total;
}

/** CPU seconds every core of the machine has spent busy so far (anything but idle and iowait). */
export function machineBusySeconds() {
  const [user, nice, system, , , irq, softirq, steal] = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

function statusKb(pid, field) {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line.split(/\s+/)[1]);
}

/** Resident memory now, in MB. */
export function rssMb(pid) {
  return statusKb(pid, 'VmRSS') / 1024;
}

/** The most resident memory the process has had since it started (its high-water mark), in MB. */
export function peakRssMb(pid) {
  return statusKb(pid, 'VmHWM') / 1024;
}
