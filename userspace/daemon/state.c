/* The state file, written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lease_json.h"
#include "state.h"

#define STATE_VERSION 1

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int lw_state_save(const char *state_dir, struct lw_lease_table *t, char *err, size_t err_size)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct json_object *root = json_object_new_object(), *leases = json_object_new_array();
	const char *text;
	int fd = -1, dir_fd = -1, r = 0;

	if (!root || !leases) {
		json_object_put(leases);
		r = -ENOMEM;
		snprintf(err, err_size, "state: out of memory");
		goto cleanup;
	}
	json_object_object_add(root, "version", json_object_new_int(STATE_VERSION));
	for (struct lw_lease_entry *e = lw_lease_first(t); e; e = e->next)
		json_object_array_add(leases, lw_lease_to_json(e, true));
	json_object_object_add(root, "leases", leases);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);

	snprintf(path, sizeof(path), "%s/%s", state_dir, LW_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", state_dir, LW_STATE_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_size, "state: cannot create %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	r = write_all(fd, text, strlen(text));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, err_size, "state: cannot write %s: %s", tmp, strerror(-r));
		goto cleanup;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = -errno;
		snprintf(err, err_size, "state: cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto cleanup;
	}
	/* the rename itself must reach the disk too */
	dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0 || fsync(dir_fd) < 0) {
		r = -errno;
		snprintf(err, err_size, "state: cannot sync %s: %s", state_dir, strerror(errno));
	}
cleanup:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (dir_fd >= 0)
		close(dir_fd);
	json_object_put(root);
	return r;
}

int lw_state_load(const char *state_dir, struct lw_lease_table *t, char *err, size_t err_size)
{
	char path[PATH_MAX];
	struct json_object *root = NULL, *leases, *version;
	struct lw_lease_entry *e;
	const char *why;
	size_t n;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", state_dir, LW_STATE_FILE);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	root = json_object_from_file(path);
	if (!root) {
		snprintf(err, err_size, "state: cannot parse %s: %s", path, json_util_get_last_err());
		return -EBADMSG;
	}
	if (!json_object_object_get_ex(root, "version", &version) ||
	    json_object_get_int(version) != STATE_VERSION ||
	    !json_object_object_get_ex(root, "leases", &leases) ||
	    !json_object_is_type(leases, json_type_array)) {
		snprintf(err, err_size, "state: %s: no version %d lease list", path, STATE_VERSION);
		r = -EBADMSG;
		goto cleanup;
	}
	n = json_object_array_length(leases);
	for (size_t i = 0; i < n; i++) {
		e = lw_lease_entry_new();
		if (!e) {
			r = -ENOMEM;
			snprintf(err, err_size, "state: out of memory");
			goto cleanup;
		}
		r = lw_lease_from_json(json_object_array_get_idx(leases, i), e, &why) < 0 ? -EBADMSG : 0;
		if (r == 0 && (lw_lease_by_image(t, e->image) || lw_lease_by_key(t, &e->key))) {
			r = -EBADMSG;
			why = "duplicate image";
		}
		if (r < 0) {
			snprintf(err, err_size, "state: %s: lease %zu: %s", path, i, why);
			free(e);
			goto cleanup;
		}
		lw_lease_table_insert(t, e);
	}
cleanup:
	json_object_put(root);
	return r;
}
