// SPDX-License-Identifier: LGPL-2.1-or-later
/* One resolution of an image path, as the caller. See image_open.h.
 *
 * Why a thread with the caller's credentials rather than checks of our own:
 * the kernel then applies every rule the caller is subject to (search
 * permission on each folder, ACLs, protected_symlinks, LSMs) in the same
 * single lookup that yields the descriptor, so nothing can be swapped
 * between a check and a use, and we write no path walker. Linux credentials
 * belong to a thread; the raw set*id syscalls (not glibc's, which change
 * every thread) drop the daemon's identity and capabilities in that one
 * thread only, and the thread ends right after. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image_open.h"
#include "common/fd_reopen.h"
#include "common/fd_stat.h"

bool lw_image_kind_ok(mode_t mode, long fs_magic)
{
	/* files of the kernel's own filesystems are views of kernel state
	 * (/proc/PID/mem, sysfs attributes), never disk images */
	static const long pseudo[] = {
		PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC, SECURITYFS_MAGIC,
		BPF_FS_MAGIC, CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, EFIVARFS_MAGIC, PSTOREFS_MAGIC,
		SELINUX_MAGIC, SMACK_MAGIC, DEVPTS_SUPER_MAGIC, NSFS_MAGIC, PIPEFS_MAGIC, SOCKFS_MAGIC,
		ANON_INODE_FS_MAGIC, BINFMTFS_MAGIC, RDTGROUP_SUPER_MAGIC, HUGETLBFS_MAGIC,
		0x73636673 /* securityfs */, 0x62656570 /* configfs */, 0x65735543 /* fusectl */,
	};

	if (!S_ISREG(mode) && !S_ISBLK(mode))
		return false;
	for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
		if (fs_magic == pseudo[i])
			return false;
	return true;
}

/* The caller's supplementary groups, from /proc/PID/status, if that process
 * still runs as uid (else none: fewer groups never grant more). */
static void caller_groups(const struct lw_image_caller *c, struct lw_image_lookup *l)
{
	char path[64], line[4096];
	bool same_uid = false;
	FILE *f;

	l->nr_groups = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long real, eff;

		if (sscanf(line, "Uid: %lu %lu", &real, &eff) == 2)
			same_uid = eff == c->uid;
		else if (strncmp(line, "Groups:", 7) == 0 && same_uid) {
			char *p = line + 7, *end;

			while (l->nr_groups < LW_IMAGE_MAX_GROUPS) {
				unsigned long g = strtoul(p, &end, 10);

				if (end == p)
					break;
				l->groups[l->nr_groups++] = (gid_t)g;
				p = end;
			}
		}
	}
	fclose(f);
}

static void lookup_here(struct lw_image_lookup *l)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_MAGICLINKS,
	};

	l->fd = (int)syscall(SYS_openat2, AT_FDCWD, l->path, &how, sizeof(how));
	if (l->fd < 0) {
		l->err = -errno;
		return;
	}
	if (lw_fstat(l->fd, &l->st) < 0) {
		l->err = -errno;
		close(l->fd);
		l->fd = -1;
		return;
	}
	/* AT_EACCESS: as this thread's effective identity, which is the caller's;
	 * asked only for a caller that is not privileged, the one it limits */
	l->writable = l->as_caller &&
		      syscall(SYS_faccessat2, l->fd, "", W_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
	l->err = 0;
}

static void lookup_as_caller(struct lw_image_lookup *l)
{
	/* groups first, then gid, then uid: each later step gives up the
	 * capability the earlier ones need */
	if (syscall(SYS_setgroups, (size_t)l->nr_groups, l->groups) < 0 ||
	    syscall(SYS_setresgid, l->gid, l->gid, l->gid) < 0 ||
	    syscall(SYS_setresuid, l->uid, l->uid, l->uid) < 0) {
		l->err = -errno;
		l->fd = -1;
		l->no_identity = true;
		return;
	}
	lookup_here(l);
}

int lw_image_lookup_prepare(struct lw_image_lookup *l, const char *path, const struct lw_image_caller *caller)
{
	l->path = path;
	l->fd = -1;
	l->err = 0;
	l->writable = false;
	l->no_identity = false;
	l->as_caller = !caller->privileged;
	l->nr_groups = 0;
	if (path[0] != '/')
		return l->err = -EINVAL;
	if (l->as_caller) {
		l->uid = caller->uid;
		l->gid = caller->gid;
		caller_groups(caller, l);
	}
	return 0;
}

void lw_image_lookup_run(struct lw_image_lookup *l)
{
	if (l->path[0] != '/')
		l->err = -EINVAL;
	else if (l->as_caller)
		lookup_as_caller(l);
	else
		lookup_here(l);
}

void lw_image_lookup_release(struct lw_image_lookup *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int lw_image_open(struct lw_image_lookup *l, const struct lw_image_caller *caller, struct lw_image *image,
		  const char **why)
{
	struct statfs fs;

	image->fd = -1;
	if (l->err < 0) {
		*why = l->no_identity ? "the daemon cannot take the caller's identity to look the path up "
					"(it needs CAP_SETUID and CAP_SETGID)" : strerror(-l->err);
		return l->err;
	}
	if (fstatfs(l->fd, &fs) < 0) {
		*why = strerror(errno);
		return -errno;
	}
	if (!lw_image_kind_ok(l->st.st_mode, (long)fs.f_type)) {
		*why = "not an image: only regular files and block devices (on no kernel pseudo filesystem) are";
		return -EINVAL;
	}
	/* an unprivileged caller could otherwise lock root out of root's files */
	if (l->as_caller && l->st.st_uid != caller->uid && !l->writable) {
		*why = "the caller neither owns nor may write this image (only root or the admin group may lease it)";
		return -EPERM;
	}
	image->fd = l->fd;
	image->st = l->st;
	image->fs_magic = (long)fs.f_type;
	l->fd = -1;
	return 0;
}

int lw_image_open_read(int path_fd)
{
	int fd = lw_reopen(path_fd, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int lw_image_key_of_stat(const struct stat *st, long fs_magic, struct lw_image_key *key)
{
	if (S_ISBLK(st->st_mode)) {
		key->dev = lw_kdev(major(st->st_rdev), minor(st->st_rdev));
		key->ino = 0;
		return 0;
	}
	if (!S_ISREG(st->st_mode) || (fs_magic != EXT4_SUPER_MAGIC && fs_magic != TMPFS_MAGIC))
		return -ENOENT;
	key->dev = lw_kdev(major(st->st_dev), minor(st->st_dev));
	key->ino = st->st_ino;
	return 0;
}
