import { readFileSync, realpathSync, statfsSync } from 'node:fs';

/** statfs(2)'s magic number of FUSE filesystems (sshfs, rclone mount…). */
export const FUSE_MAGIC = 0x65735546;

/**
 * Filesystems whose every call is a round trip to another machine or process (statfs(2) magic
 * numbers): NFS, SMB and CIFS, FUSE (sshfs, rclone mount, s3fs…), 9P, Ceph, AFS, Coda, GFS2,
 * OCFS2 and Lustre. There the work is waiting, not CPU.
 */
const SLOW_FILESYSTEMS = new Set([
  0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x65735546, 0x01021997, 0x00c36400, 0x5346414f, 0x73757245,
  0x01161970, 0x7461636f, 0x0bd00bd0,
]);

/**
 * FUSE filesystems on local disks (their mount's type in /proc/self/mountinfo): not slow in that
 * way, and more threads would make a spinning disk seek.
 */
const LOCAL_FUSE = new Set([
  'fuseblk',
  'fuse.ntfs-3g',
  'fuse.exfat',
  'fuse.mergerfs',
  'fuse.fuse-overlayfs',
  'fuse.bindfs',
  'fuse.encfs',
  'fuse.gocryptfs',
  'fuse.squashfuse',
  'fuse.unionfs',
  'fuse.unionfs-fuse',
  'fuse.lxcfs',
]);

/** True when `path` is on a filesystem of `SLOW_FILESYSTEMS` (false when it cannot be told). */
export function onSlowFilesystem(path: string): boolean {
  try {
    const type = statfsSync(path).type >>> 0;
    if (!SLOW_FILESYSTEMS.has(type)) return false;
    return type !== FUSE_MAGIC || !onLocalFuse(path);
  } catch {
    return false;
  }
}

/**
 * Whether a device at `path` that reads 0:0 may have a number its filesystem could not tell: on a
 * FUSE mount other than a local one (sshfs: SFTP has no field for it), or where that cannot be
 * told. Elsewhere 0:0 is the device's number (overlayfs's and fuse-overlayfs's whiteouts).
 */
export function devicesMayReadZero(path: string | Buffer, mountinfo?: string): boolean {
  try {
    if (statfsSync(path).type >>> 0 !== FUSE_MAGIC) return false;
    return !onLocalFuse(path, mountinfo);
  } catch {
    return true;
  }
}

/** Whether `path`, on a FUSE mount, is on one of a local disk (`LOCAL_FUSE`); throws when it cannot be resolved. */
function onLocalFuse(path: string | Buffer, mountinfo?: string): boolean {
  return LOCAL_FUSE.has(mountType(realpathSync(path).toString(), mountinfo) ?? '');
}

/** The type of the mount `path` (a real path) is on, from /proc/self/mountinfo (undefined when unreadable). */
export function mountType(path: string, mountinfo?: string): string | undefined {
  return mountOf(path, mountinfo)?.type;
}

/** mountinfo escapes blanks, tabs, newlines and backslashes in its fields as octal. */
const unescapeMountField = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(Number.parseInt(o, 8)));

/**
 * The mount `path` (a real path) is on, from /proc/self/mountinfo: its mount point, the directory of
 * its filesystem mounted there (`root`: `/`, or a subdirectory for a bind mount or a container's
 * volume), type and source (`host:/srv` for sshfs); undefined when unreadable.
 */
export function mountOf(
  path: string,
  mountinfo?: string,
): { point: string; root: string; type: string; source: string } | undefined {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return undefined;
    }
  }
  let best: { point: string; root: string; type: string; source: string } | undefined;
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const point = unescapeMountField(fields[4] ?? '');
    const inside = point === '/' || path === point || path.startsWith(`${point}/`);
    if (inside && (!best || point.length >= best.point.length)) {
      const [type = '', source = ''] = right.split(' ');
      best = { point, root: unescapeMountField(fields[3] ?? '/'), type, source: unescapeMountField(source) };
    }
  }
  return best;
}

/**
 * Where a directory on an sshfs mount is on its host, in rsync's `host:path` form (the mount's
 * source with the path below the mount point), or undefined when it is not on one: verifying that
 * over ssh runs the agent there instead of looking each file up through the mount.
 */
export function sshfsRemote(path: string, mountinfo?: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(path);
    if (mountinfo === undefined && statfsSync(real).type >>> 0 !== FUSE_MAGIC) return undefined;
  } catch {
    return undefined;
  }
  const mount = mountOf(real, mountinfo);
  if (mount?.type !== 'fuse.sshfs' || !mount.source.includes(':')) return undefined;
  const below = real === mount.point ? '' : real.slice(mount.point === '/' ? 1 : mount.point.length + 1);
  // below the directory of the remote tree mounted there (a bind mount of a subdirectory of the
  // sshfs mount has it as its root)
  const inside = [mount.root.replace(/^\/+/, ''), below].filter((part) => part !== '').join('/');
  if (inside === '') return mount.source;
  // `host:` is the home directory there, `host:/` the root
  return mount.source.endsWith(':') || mount.source.endsWith('/')
    ? `${mount.source}${inside}`
    : `${mount.source}/${inside}`;
}
