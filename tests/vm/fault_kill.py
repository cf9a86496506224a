#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fault injection: lockwardend and its keeper are killed with SIGKILL at
random moments while a stream of acquires, releases and holder deaths goes
on through the CLI; the daemon is restarted after each kill. After every
restart: each lease of a live holder is listed, holds its backend lock (an
F_OFD_GETLK probe sees it) and is enforced (a write open by a non-holder is
denied); no lease of a dead holder remains; an image with no lease has no
lock and no enforcement left. A rogue writer polls every image that is
leased for certain, all along; any write open it gets is a breach.

Run by fault_kill.sh (fcntl direct mode) and fault_kill_lockspace.sh (lock
files in a lockspace). Also after every round: the keeper running then (a
new one, after a keeper kill) holds a descriptor of every leased image's
lock, and a daemon kill alone never leaves a lock to be taken again (the
keeper had them all). FAULT_KILLS (default 100) sets how many kills;
FAULT_MAX_SECONDS (1700) ends a run early, failing, on a machine too slow for
them, so the results are still reported within the limit tests/check gives
tap-run (1800 s). TAP output; prints the measured numbers as comments."""
import errno
import fcntl
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAEMON = os.path.join(TOP, "build/lockwardend")
CLI = os.path.join(TOP, "build/lockwarden")
EXCLUSIVE_IMAGES = 5
SHARED_HOLDERS_MAX = 2
# adopt.c logs this when a lock was lost (the keeper died too) and taken again
RETAKE = "the backend lock was lost with the keeper; took it again"
# keeping.c logs this when a lease's lock had no copy in the daemon when the keeper was replaced
ONLY_IN_OLD_KEEPER = "it lives only as long as the old keeper"

tests = []


def tap(name, ok, detail=""):
    tests.append((name, ok, detail))


def finish():
    print("1..%d" % len(tests))
    for i, (name, ok, detail) in enumerate(tests, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        for line in detail.splitlines() if detail else []:
            print("#   " + line)
    return 0 if all(ok for _, ok, _ in tests) else 1


def prerequisites():
    for f in (DAEMON, CLI):
        if not os.access(f, os.X_OK):
            return "%s is missing (run make)" % f
    try:
        with open("/sys/kernel/security/lsm") as f:
            if "bpf" not in f.read().split(","):
                return "BPF LSM is not active (run under tests/vm/run)"
    except OSError as e:
        return "cannot read the LSM list: %s" % e
    return None


class Failures:
    """Counts one kind of failed assertion, keeps the first examples."""

    def __init__(self):
        self.count = 0
        self.examples = []

    def add(self, text):
        self.count += 1
        if len(self.examples) < 5:
            self.examples.append(text)

    def detail(self, rounds):
        return "\n".join(["failed in %d check(s) over %d round(s); first:" % (self.count, rounds)]
                         + self.examples)


class Fault:
    def __init__(self, lockspace):
        self.work = tempfile.mkdtemp(prefix="lw-fault.")
        self.sock = os.path.join(self.work, "lockwarden.sock")
        self.state = os.path.join(self.work, "state")
        self.pins = "/sys/fs/bpf/lw-fault-%d" % os.getpid()
        self.log_path = os.path.join(self.work, "daemon.log")
        self.lockspace = os.path.join(self.work, "lockspace") if lockspace else None
        if self.lockspace:
            os.mkdir(self.lockspace)
        with open(os.path.join(self.work, "empty.conf"), "w"):
            pass
        self.images = []
        for i in range(EXCLUSIVE_IMAGES + 1):
            path = os.path.join(self.work, "img%d.raw" % i)
            with open(path, "wb") as f:
                f.write(b"\0" * 65536)
            self.images.append(path)
        self.shared = self.images[-1]
        self.daemon = None
        # image -> {pid: "held" | "acquire?" | "release?"}; "?" = the daemon
        # died before it answered, the outcome is read back after the restart
        self.ledger = {img: {} for img in self.images}
        self.holders = {}       # pid -> Popen
        self.dead = {}          # pid of a killed holder -> image it held
        self.protected = set()
        self.version = 0
        self.protect_path = os.path.join(self.work, "protected")
        self.breach_path = os.path.join(self.work, "breach")
        self.write_protected()

    # ---- the daemon and the keeper ---------------------------------------
    def start_daemon(self):
        args = [DAEMON, "--config", os.path.join(self.work, "empty.conf"), "--socket", self.sock,
                "--pin-dir", self.pins, "--state-dir", self.state,
                "--audit-log", os.path.join(self.work, "audit.log"), "--backend", "fcntl"]
        if self.lockspace:
            args += ["--lockspace", self.lockspace]
        log = open(self.log_path, "a")
        start = time.monotonic()
        self.exec_at = time.time()
        self.daemon = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        while time.monotonic() - start < 60:
            if self.daemon.poll() is not None:
                raise RuntimeError("lockwardend exited with status %d: %s"
                                   % (self.daemon.returncode, self.log_tail()))
            if self.answers():
                self.answer_at = time.time()
                return time.monotonic() - start
            time.sleep(0.02)
        raise RuntimeError("lockwardend did not answer within 60 s")

    def answers(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.sock)
            s.sendall(b'{"method":"io.lockwarden.Manager.Status"}\0')
            return s.recv(65536).endswith(b"\0")
        except OSError:
            return False
        finally:
            s.close()

    def kill_daemon(self):
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait()

    def keeper_pid(self):
        """The process listening on STATE_DIR/keeper.sock (not the daemon)."""
        path = os.path.join(self.state, "keeper.sock")
        inodes = set()
        with open("/proc/net/unix") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if len(fields) >= 8 and fields[7] == path and fields[5] == "01":
                    inodes.add("socket:[%s]" % fields[6])
        for pid in filter(str.isdigit, os.listdir("/proc")):
            if self.daemon and int(pid) == self.daemon.pid:
                continue
            try:
                if os.readlink("/proc/%s/fd/3" % pid) in inodes:
                    return int(pid)
            except OSError:
                pass
        return None

    def log_tail(self):
        with open(self.log_path, errors="replace") as f:
            return " | ".join(f.read().splitlines()[-3:])

    def log_count(self, text):
        with open(self.log_path, errors="replace") as f:
            return f.read().count(text)

    # ---- the CLI ---------------------------------------------------------
    def lw(self, *args):
        r = subprocess.run([CLI, "--socket", self.sock] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def listed(self):
        status, out = self.lw("list", "--json")
        if status != 0:
            raise RuntimeError("list failed: " + out)
        return {l["image"]: {h["pid"] for h in l["holders"] if h.get("kind") == "process"}
                for l in json.loads(out)["leases"]}

    # ---- what the rogue may never open ------------------------------------
    def write_protected(self):
        protected = {img for img, h in self.ledger.items() if "held" in h.values()}
        if protected == self.protected and self.version:
            return
        if protected - self.protected or self.protected - protected:
            self.version += 1
        self.protected = protected
        tmp = self.protect_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n%s" % (self.version, "".join(p + "\n" for p in sorted(protected))))
        os.rename(tmp, self.protect_path)

    # ---- probes ----------------------------------------------------------
    def lock_file(self, image):
        if not self.lockspace:
            return image
        return os.path.join(self.lockspace, hashlib.sha256(image.encode()).hexdigest())

    def backend_locked(self, image):
        """Does anyone hold an fcntl lock on byte 0 of the image's lock file?"""
        try:
            fd = os.open(self.lock_file(image), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            req = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, 0, 0, 1, 0)
            res = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, req)
            return struct.unpack("hh4xqqi4x", res)[0] != fcntl.F_UNLCK
        finally:
            os.close(fd)

    def keeper_holds(self, pid, images):
        """The images whose lock file the keeper pid has no descriptor of."""
        held = set()
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    held.add(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                except OSError:
                    pass
        except OSError:
            return set(images)
        return {img for img in images if self.lock_file(img) not in held}

    def verify_keeper(self, round_no, kind, killed_keeper, listed):
        """The keeper running now (a new one after a keeper kill) holds a
        copy of every leased image's lock (listed: the leases verify saw)."""
        where = "round %d (%s)" % (round_no, kind)
        deadline = time.monotonic() + 3
        while True:
            leased = [img for img, pids in (listed or self.listed()).items() if pids]
            listed = None
            keeper = self.keeper_pid()
            missing = (set(leased) if keeper is None or keeper == killed_keeper
                       else self.keeper_holds(keeper, leased))
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if missing:
            self.keeper_missing.add("%s: %s has no copy of the lock of %s" % (
                where, "no keeper runs" if keeper is None or keeper == killed_keeper
                else "keeper %d" % keeper, sorted(missing)))

    @staticmethod
    def write_denied(image):
        try:
            os.close(os.open(image, os.O_WRONLY | os.O_CLOEXEC))
            return False
        except PermissionError:
            return True

    # ---- the stream of operations ----------------------------------------
    def new_holder(self):
        p = subprocess.Popen(["sleep", "100000"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.holders[p.pid] = p
        return p.pid

    def kill_holder(self, pid, image):
        del self.ledger[image][pid]
        self.write_protected()      # before the death: the lease may end now
        self.end_holder(pid)
        self.dead[pid] = image

    def end_holder(self, pid):
        p = self.holders.pop(pid)
        p.kill()
        p.wait()

    def one_op(self, killed):
        """One random call, weighted to keep a few leases in play."""
        leased = [(img, pid) for img, h in self.ledger.items() for pid in h]
        free = [img for img, h in self.ledger.items()
                if not h or (img == self.shared and len(h) < SHARED_HOLDERS_MAX)]
        if free and (not leased or random.random() < (0.8 if len(leased) < 4 else 0.3)):
            img = random.choice(free)
            pid = self.new_holder()
            status, out = self.lw("acquire", img, "--pid", pid,
                                  *(["--shared"] if img == self.shared else []))
            self.count_op("acquires", status)
            if status == 0:
                self.ledger[img][pid] = "held"
                self.write_protected()
            elif killed.is_set():
                self.ledger[img][pid] = "acquire?"
            else:
                self.op_failed.add("acquire %s for %d with the daemon up: %s" % (img, pid, out.strip()))
                self.end_holder(pid)
            return
        img, pid = random.choice(leased)
        if random.random() < 0.6:
            self.ledger[img][pid] = "release?"
            self.write_protected()  # before the release: the lease ends now
            status, out = self.lw("release", img, "--pid", pid)
            self.count_op("releases", status)
            if status == 0:
                del self.ledger[img][pid]
                self.end_holder(pid)
            elif not killed.is_set():
                self.op_failed.add("release %s for %d with the daemon up: %s" % (img, pid, out.strip()))
        else:
            self.kill_holder(pid, img)
            self.count_op("holder deaths", 0)

    def count_op(self, op, status):
        key = op if status == 0 else op + " refused or cut by a kill"
        self.ops[key] = self.ops.get(key, 0) + 1

    # ---- after a restart: what must be true ------------------------------
    def verify(self, round_no, kind):
        deadline = time.monotonic() + 3
        while True:     # a holder's death is handled as an event: give it a moment
            listed = self.listed()
            stale = [(pid, img) for pid, img in self.dead.items() if pid in listed.get(img, ())]
            if not stale or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        where = "round %d (%s)" % (round_no, kind)
        for pid, img in stale:
            self.dead_lease.add("%s: %s still leased to dead holder %d" % (where, img, pid))
        self.dead = {pid: img for pid, img in stale}
        for img in self.images:
            got = listed.get(img, set())
            for pid, state in list(self.ledger[img].items()):
                if state == "held" and pid not in got:
                    self.lost_lease.add("%s: %s of live holder %d is not listed" % (where, img, pid))
                    del self.ledger[img][pid]
                    self.end_holder(pid)
                elif state != "held":   # the daemon died before it answered
                    if pid in got:
                        self.ledger[img][pid] = "held"
                    else:
                        del self.ledger[img][pid]
                        self.end_holder(pid)
            for pid in got:
                if pid not in self.ledger[img] and pid not in self.dead:
                    self.unknown_lease.add("%s: %s listed for %d, which never asked" % (where, img, pid))
            self.write_protected()
            if got:
                if not self.backend_locked(img):
                    self.no_backend_lock[kind].add(
                        "%s: %s leased to %s but nobody holds its backend lock" % (where, img, sorted(got)))
                if not self.write_denied(img):
                    self.no_enforcement.add("%s: a write open of leased %s got through" % (where, img))
            else:
                if self.backend_locked(img):
                    self.stale_lock.add("%s: %s has no lease but its backend lock is still held" % (where, img))
                if self.write_denied(img):
                    self.stale_kernel.add("%s: %s has no lease but a write open is denied" % (where, img))
        return listed

    def run(self, kills_wanted, max_seconds):
        self.op_failed, self.lost_lease, self.dead_lease = Failures(), Failures(), Failures()
        self.unknown_lease, self.no_enforcement = Failures(), Failures()
        self.stale_lock, self.stale_kernel = Failures(), Failures()
        self.no_backend_lock = {k: Failures() for k in ("daemon", "keeper", "both")}
        self.ops = {}
        self.call_time = 0.2    # seconds a call takes, measured as we go
        rounds = {"daemon": 0, "keeper": 0, "both": 0}
        # [round, kind, killed at, restart exec at, answered at, locks it took again]
        self.timeline = []
        self.keeper_missing = Failures()
        self.retaken_after_daemon_kill = Failures()
        retakes_before = 0
        kills = no_keeper = 0
        restarts = []
        first = self.start_daemon()
        rogue = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--rogue",
                                  self.protect_path, self.breach_path, os.path.join(self.work, "stop")])
        begin = time.monotonic()
        round_no = 0
        try:
            while kills < kills_wanted and time.monotonic() - begin < max_seconds:
                round_no += 1
                kind = random.choices(["daemon", "keeper", "both"], [5, 3, 2])[0]
                rounds[kind] += 1
                killed, fired = threading.Event(), threading.Event()
                keeper = self.keeper_pid()

                def kill(kind=kind, keeper=keeper, killed=killed, fired=fired):
                    self.timeline.append([round_no, kind, time.time(), None, None, 0])
                    if kind in ("keeper", "both") and keeper:
                        os.kill(keeper, signal.SIGKILL)
                    if kind in ("daemon", "both"):
                        self.daemon.send_signal(signal.SIGKILL)
                        killed.set()    # from now on a call may fail
                    fired.set()

                # the kill lands within the next few calls, at a random moment
                timer = threading.Timer(random.uniform(0, self.call_time * random.randint(1, 4)), kill)
                timer.start()
                while not fired.is_set():
                    began = time.monotonic()
                    self.one_op(killed)
                    self.call_time = 0.8 * self.call_time + 0.2 * (time.monotonic() - began)
                leased = [(img, pid) for img, h in self.ledger.items() for pid in h]
                if killed.is_set() and leased and random.random() < 0.5:
                    self.kill_holder(*reversed(random.choice(leased)))  # dies while the daemon is down
                    self.count_op("holder deaths", 0)
                timer.join()
                if kind != "keeper":
                    kills += 1
                    self.daemon.wait()
                if kind != "daemon":
                    # none after a keeper kill until the daemon next hands one a lock
                    kills += 1 if keeper else 0
                    no_keeper += 0 if keeper else 1
                if kind != "keeper":
                    restarts.append(self.start_daemon())
                    retakes = self.log_count(RETAKE)
                    self.timeline[-1][3:] = [self.exec_at, self.answer_at, retakes - retakes_before]
                    retakes_before = retakes
                    if kind == "daemon" and self.timeline[-1][5]:
                        self.retaken_after_daemon_kill.add(
                            "round %d: the restart took %d lock(s) again (\"%s\")"
                            % (round_no, self.timeline[-1][5], RETAKE))
                listed = self.verify(round_no, kind)
                self.verify_keeper(round_no, kind, keeper if kind != "daemon" else None, listed)
        except RuntimeError as e:
            tap("fault_run_completes", False, "round %d: %s" % (round_no, e))
        elapsed = time.monotonic() - begin
        open(os.path.join(self.work, "stop"), "w").close()
        rogue_status = rogue.wait()
        breaches = open(self.breach_path).read().splitlines() if os.path.exists(self.breach_path) else []
        tries = open(self.breach_path + ".tries").read().strip() if os.path.exists(self.breach_path + ".tries") else "0"
        mode = "lockspace" if self.lockspace else "direct"
        print("# fcntl %s mode: %d kills in %d rounds (daemon %d, keeper %d, both %d; %d found no keeper"
              " running), %d restarts, %.0f s" % (mode, kills, round_no, rounds["daemon"], rounds["keeper"],
                                                  rounds["both"], no_keeper, len(restarts), elapsed))
        print("# operations: %s" % ", ".join("%d %s" % (n, op) for op, n in sorted(self.ops.items())))
        if restarts:
            print("# restart (exec to first answer): first %.2f s, mean %.2f s, max %.2f s"
                  % (first, sum(restarts) / len(restarts), max(restarts)))
        print("# daemon log: %d lock(s) taken again at a restart (\"%s\"), %d keeper replacement(s),"
              " %d lock(s) only an old keeper held" % (self.log_count(RETAKE), RETAKE,
                                                     self.log_count("replaced pid"),
                                                     self.log_count(ONLY_IN_OLD_KEEPER)))
        print("# rogue writer: %s write open(s) tried on leased images, %d got through" % (tries, len(breaches)))
        tap("rogue_writer_ran_throughout", rogue_status == 0 and int(tries) > 0,
            "expected the rogue to exit 0 after trying opens, got status %d after %s tries"
            % (rogue_status, tries))

        tap("at_least_%d_sigkills_done_and_each_restarted" % kills_wanted,
            kills >= kills_wanted, "expected %d kills, got %d%s" % (
                kills_wanted, kills, "" if kills >= kills_wanted else
                " before the time limit of %d s (FAULT_MAX_SECONDS): a restart took %.2f s on average"
                % (max_seconds, sum(restarts) / max(len(restarts), 1))))
        tap("calls_answer_normally_between_kills", not self.op_failed.count, self.op_failed.detail(round_no))
        tap("every_acknowledged_lease_of_a_live_holder_survives_every_kill",
            not self.lost_lease.count, self.lost_lease.detail(round_no))
        tap("no_lease_of_a_dead_holder_remains_after_any_kill",
            not self.dead_lease.count, self.dead_lease.detail(round_no))
        tap("no_lease_appears_that_no_holder_asked_for",
            not self.unknown_lease.count, self.unknown_lease.detail(round_no))
        tap("every_lease_is_enforced_by_the_kernel_after_every_kill",
            not self.no_enforcement.count, self.no_enforcement.detail(round_no))
        tap("every_lease_holds_its_backend_lock_after_daemon_kills",
            not self.no_backend_lock["daemon"].count, self.no_backend_lock["daemon"].detail(rounds["daemon"]))
        for kind, what in (("keeper", "keeper_kills_with_the_daemon_up"),
                           ("both", "kills_of_daemon_and_keeper_together")):
            f = self.no_backend_lock[kind]
            tap("every_lease_holds_its_backend_lock_after_" + what, not f.count, f.detail(rounds[kind]))
        tap("the_keeper_holds_a_copy_of_every_leased_lock_after_every_kill",
            not self.keeper_missing.count, self.keeper_missing.detail(round_no))
        tap("a_daemon_kill_alone_never_needs_a_lock_taken_again",
            not self.retaken_after_daemon_kill.count, self.retaken_after_daemon_kill.detail(rounds["daemon"]))
        tap("no_backend_lock_outlives_its_lease", not self.stale_lock.count, self.stale_lock.detail(round_no))
        tap("no_kernel_enforcement_outlives_its_lease", not self.stale_kernel.count,
            self.stale_kernel.detail(round_no))
        phases = self.breach_phases(breaches)
        for kind, what in (("daemon", "daemon_kills"), ("keeper", "keeper_kills_with_the_daemon_up"),
                           ("both", "kills_of_daemon_and_keeper_together"),
                           ("retake", "restarts_that_retook_a_lost_lock")):
            mine = {p: n for (k, p), n in phases.items() if k == kind}
            lines = [line for line in breaches if self.breach_kind(line) == kind]
            detail = "\n".join(["%d write open(s) of a leased image got through: %s; first:"
                                % (len(lines), ", ".join("%s: %d" % kv for kv in sorted(mine.items())))]
                               + lines[:3])
            if kind == "retake":
                print("# %d restart(s) took a lost lock again (\"%s\"), the rogue polling throughout"
                      % (sum(1 for t in self.timeline if t[5]), RETAKE))
            tap("rogue_writer_polling_throughout_never_opened_a_leased_image_across_" + what,
                not lines, detail)
        early = [line for line in breaches if self.breach_kind(line) is None]
        tap("rogue_writer_never_opened_a_leased_image_between_kills", not early,
            "%d write open(s) got through before the first kill: %s" % (len(early), early[:3]))

    def breach_round(self, line):
        """The kill a breach followed and its phase: (kind, phase), or (None, ...).
        A breach during a restart that took a lost lock again is of kind
        "retake", whatever was killed."""
        when = float(line.split()[0])
        kind, phase = None, "before the first kill"
        for _, k, killed, execd, answered, retakes in self.timeline:
            if when < killed:
                break
            kind = k
            if k == "keeper":
                phase = "daemon up"
            elif execd is None or when < execd:
                phase = "daemon down"
            elif when < answered:
                phase = "restart, before it answered"
                if retakes:
                    kind = "retake"
            else:
                phase = "after the restart answered"
        return kind, phase

    def breach_kind(self, line):
        return self.breach_round(line)[0]

    def breach_phases(self, breaches):
        phases = {}
        for line in breaches:
            key = self.breach_round(line)
            phases[key] = phases.get(key, 0) + 1
        return phases

    def cleanup(self):
        for p in self.holders.values():
            p.kill()
            p.wait()
        if self.daemon and self.daemon.poll() is None:
            time.sleep(1)   # holders gone: their leases are released
            self.daemon.terminate()
            self.daemon.wait()
        keeper = self.keeper_pid()
        if keeper:
            os.kill(keeper, signal.SIGKILL)
        if any(t[1] is False for t in tests):
            print("# --- daemon log (last lines) ---")
            with open(self.log_path, errors="replace") as f:
                for line in f.read().splitlines()[-30:]:
                    print("# " + line)
        shutil.rmtree(self.pins, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)


def rogue(protect_path, breach_path, stop_path):
    """Try a write open of every image leased for certain, all the time. A
    success counts only if the protected set did not change around it."""
    def read():
        with open(protect_path) as f:
            lines = f.read().splitlines()
        return lines[0], lines[1:]
    tries = 0
    while not os.path.exists(stop_path):
        version, images = read()
        for img in images:
            tries += 1
            try:
                fd = os.open(img, os.O_WRONLY | os.O_CLOEXEC)
            except OSError as e:
                if e.errno not in (errno.EACCES, errno.EPERM):
                    raise
                continue
            when = time.time()
            os.close(fd)
            if read()[0] == version:
                with open(breach_path, "a") as f:
                    f.write("%.3f %s\n" % (when, img))
        time.sleep(0.01)
    with open(breach_path + ".tries", "w") as f:
        f.write("%d\n" % tries)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--rogue":
        rogue(*sys.argv[2:])
        return 0
    lockspace = "--lockspace" in sys.argv[1:]
    why = prerequisites()
    if why:
        print("1..1\nnot ok 1 - prerequisites: " + why)
        return 1
    seed = int(os.environ.get("FAULT_SEED", time.time()))
    random.seed(seed)
    print("# random seed %d (FAULT_SEED=%d repeats this run)" % (seed, seed))
    fault = Fault(lockspace)
    try:
        # stop in time to report, within the limit tests/check gives a program
        fault.run(int(os.environ.get("FAULT_KILLS", "100")),
                  float(os.environ.get("FAULT_MAX_SECONDS", "1700")))
    finally:
        fault.cleanup()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
