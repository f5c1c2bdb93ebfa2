/* gc_monitor/envvars.h: the names of the environment variables pygcprofiler uses.
 *
 * They are defined here and nowhere else: the launcher and the extension use
 * these macros, and the extension exports them to the Python modules as
 * gc_monitor._core.CONFIG_ENV, FOLLOW_ENV, PYTHON_ENV and CHECKED_ENV.  The one other
 * spelling is the line of python/pygcprofiler-follow-children.pth, which must
 * test for GCM_ENV_FOLLOW without importing anything (every python that reads
 * the site directory runs it); tests/python/test_imports.py checks that it
 * matches.
 */
#ifndef GC_MONITOR_ENVVARS_H
#define GC_MONITOR_ENVVARS_H

/* The launcher's configuration as one line of gcm_config_encode text: set by
 * the launcher for its bootstrap, which removes it before the target runs,
 * and set again (paths made absolute) by a --follow-children run for the
 * interpreters its target starts. */
#define GCM_ENV_CONFIG "PYGCPROFILER_CONFIG"

/* The pid of the --follow-children process that set it, beside
 * GCM_ENV_CONFIG: the start-up hook starts a monitor in a new interpreter
 * only when it is present.  The launcher removes it, so that a launcher run
 * inside a followed child starts one monitor, its own. */
#define GCM_ENV_FOLLOW "PYGCPROFILER_FOLLOW"

/* The interpreter the launcher runs the target with when --python is not
 * given. */
#define GCM_ENV_PYTHON "PYGCPROFILER_PYTHON"

/* "X.Y[t]:PATH", set by `python -m gc_monitor run` for the interpreter it
 * passes as --python, after importing gc_monitor._core in it: the launcher
 * then skips its probe of that interpreter when its own X.Y matches (one
 * interpreter start-up less), and removes the variable either way. */
#define GCM_ENV_CHECKED "PYGCPROFILER_PYTHON_CHECKED"

#endif /* GC_MONITOR_ENVVARS_H */
