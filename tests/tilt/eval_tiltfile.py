#!/usr/bin/env python3
"""Evaluate a Tiltfile the way Tilt would, without Tilt, and print what it declared as JSON.

Tilt cannot be installed on the machines that test brrt, but the language it runs can:
starlark-go (`pip install starlark-go`) binds go.starlark.net, the interpreter Tilt embeds.
This harness defines the Tilt builtins a Tiltfile here uses *in Starlark* (handing Python
functions to the interpreter crashes it), runs the Tiltfile, and reports every call to
local_resource, watch_file, v1alpha1.extension_repo, ... in order:

    python3 tests/tilt/eval_tiltfile.py Tiltfile [--env KEY=VALUE]... [--fs-root DIR]

stdout: {"calls": [{"fn": "local_resource", "name": ..., ...}, ...], "prints": [...],
         "loads": [{"module": "ext://brrt", "path": "/abs/plugins/tilt/brrt/Tiltfile"}]}
exit 0: the Tiltfile ran; exit 1: it failed (Starlark's error and backtrace on stderr, with
the file's real line numbers); exit 2: the harness cannot emulate something (it says what).

How Tilt's behaviour is reproduced:
- `load()` is not implemented by the bindings, so the harness runs the file in pieces, split
  at each top-level `load`, and runs the loaded file in between. `ext://NAME` is resolved
  through the v1alpha1.extension / extension_repo calls the Tiltfile made before the load
  (file:// repos only), a relative path against the loading file. Only the loaded names stay
  visible, as with a real load; a module is run once.
- Dotted builtins (`os.path.join`, `config.main_dir`, `v1alpha1.extension`) cannot be
  written in Starlark, which has no structs here. The harness renames them in the source
  (`os_path_join`, same length, so columns stay right) unless a local name shadows the
  module, as in `def f(config): config.main_dir`, which fails in Tilt too.
- Tilt resolves a relative path against the directory of the file whose code is running
  (a function from an extension resolves against the extension's directory). The harness
  gives every file its own local_resource, watch_file, os.getcwd and os.path.exists bound to
  that directory, and reports the resolved `deps`, `dir` and `serve_dir`.
- Each piece runs in its own module, whose values are frozen afterwards, as Tilt freezes a
  loaded module. Calls are reported through print() with a marker, since a list that a later
  piece appends to would be frozen.
- os.getenv sees only --env values; os.path.exists sees the files under --fs-root (default:
  the Tiltfile's directory); local() runs nothing and returns "".
"""

import argparse
import ast
import json
import os
import re
import sys

try:
    from starlark_go import ConversionToPythonFailed, Starlark, StarlarkError, configure_starlark
except ImportError:  # pragma: no cover - the caller checks for the module first
    sys.exit("harness: python module starlark_go is missing: pip install starlark-go")

MARK = "__tilt_call__ "

# Tilt's dotted builtins this harness emulates, and the root names they hang off.
DOTTED = {
    "os.getenv",
    "os.getcwd",
    "os.environ",
    "os.path.join",
    "os.path.exists",
    "os.path.abspath",
    "os.path.dirname",
    "os.path.basename",
    "config.main_dir",
    "config.main_path",
    "config.tilt_subcommand",
    "v1alpha1.extension_repo",
    "v1alpha1.extension",
}
ROOTS = {name.split(".")[0] for name in DOTTED} | {"shlex"}

# Names each file gets bound to its own directory (see the header in Evaluator.run_piece).
PER_FILE = [
    "__tilt_file_dir",
    "local_resource",
    "local",
    "watch_file",
    "read_file",
    "os_getcwd",
    "os_path_exists",
    "os_path_abspath",
]

# Tilt's builtins, in Starlark. `__tilt_fs`, `__tilt_env`, `_MAIN_PATH` and `_SUBCOMMAND` are filled in.
PRELUDE = r'''
__tilt_mark = %(mark)s

def __tilt_record(fn, fields):
    d = {"fn": fn}
    d.update(fields)
    print(__tilt_mark + repr(d))

def __tilt_clean(path):
    # Go's filepath.Clean, which Tilt's path builtins apply.
    rooted = path.startswith("/")
    out = []
    for part in path.split("/"):
        if part == "" or part == ".":
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    joined = "/".join(out)
    if rooted:
        return "/" + joined
    return joined or "."

def __tilt_resolve(base, path):
    if type(path) != "string":
        fail("expected a path string, got %%s" %% type(path))
    if path.startswith("/"):
        return __tilt_clean(path)
    return __tilt_clean(base + "/" + path)

def os_path_join(*parts):
    for p in parts:
        if type(p) != "string":
            fail("os.path.join: expected strings, got %%s" %% type(p))
    nonempty = [p for p in parts if p != ""]
    if not nonempty:
        return ""
    return __tilt_clean("/".join(nonempty))

def os_path_dirname(path):
    i = path.rfind("/")
    if i < 0:
        return "."
    return __tilt_clean(path[:i + 1])

def os_path_basename(path):
    if path == "":
        return "."
    stripped = path.rstrip("/")
    if stripped == "":
        return "/"
    return stripped[stripped.rfind("/") + 1:]

def __tilt_exists(base, path):
    return __tilt_resolve(base, path) in __tilt_fs

__tilt_env = %(env)s
os_environ = __tilt_env

def os_getenv(key, default = None):
    return __tilt_env.get(key, default)

config_main_path = %(main_path)s
config_main_dir = os_path_dirname(config_main_path)
config_tilt_subcommand = %(subcommand)s

TRIGGER_MODE_AUTO = {"__tilt__": "trigger_mode", "mode": "TRIGGER_MODE_AUTO"}
TRIGGER_MODE_MANUAL = {"__tilt__": "trigger_mode", "mode": "TRIGGER_MODE_MANUAL"}

def __tilt_strings(fn, what, value):
    # A string or a list of strings, as a list.
    if value == None:
        return []
    if type(value) == "string":
        return [value]
    if type(value) != "list" and type(value) != "tuple":
        fail("%%s: %%s must be a string or a list of strings, got %%s" %% (fn, what, type(value)))
    for v in value:
        if type(v) != "string":
            fail("%%s: %%s must be a string or a list of strings, found a %%s" %% (fn, what, type(v)))
    return list(value)

def __tilt_cmd(fn, what, value):
    if value == None or value == "" or value == []:
        return None
    if type(value) == "string":
        return value
    return __tilt_strings(fn, what, value)

__tilt_label_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

def __tilt_labels(fn, value):
    labels = __tilt_strings(fn, "labels", value)
    for label in labels:
        ok = len(label) > 0 and len(label) <= 63 and label[0] in __tilt_label_chars and label[-1] in __tilt_label_chars
        for c in label.elems():
            if c not in __tilt_label_chars and c not in "_-.":
                ok = False
        if not ok:
            fail("%%s: invalid label %%r: a label must start and end with an alphanumeric character, can include _, - and ., and must be 63 characters or less" %% (fn, label))
    return labels

def __tilt_local_resource(exec_dir, name, cmd = None, deps = None, trigger_mode = None, resource_deps = [],
                    ignore = [], auto_init = True, serve_cmd = None, cmd_bat = None, serve_cmd_bat = None,
                    allow_parallel = False, links = [], tags = [], env = {}, serve_env = {},
                    readiness_probe = None, dir = None, serve_dir = None, labels = []):
    fn = "local_resource"
    if type(name) != "string" or name == "":
        fail("%%s: name must be a non-empty string, got %%r" %% (fn, name))
    update = __tilt_cmd(fn, "cmd", cmd)
    serve = __tilt_cmd(fn, "serve_cmd", serve_cmd)
    if update == None and serve == None:
        fail("local_resource must have a cmd and/or a serve_cmd, but both were empty")
    if dir != None and update == None:
        fail("local_resource: 'dir' only affects 'cmd', not 'serve_cmd'. Did you mean to use 'serve_dir' instead?")
    if serve_dir != None and serve == None:
        fail("local_resource: 'serve_dir' only affects 'serve_cmd', not 'cmd'. Did you mean to use 'dir' instead?")
    if trigger_mode == None:
        mode = "TRIGGER_MODE_AUTO"
    elif trigger_mode == TRIGGER_MODE_AUTO or trigger_mode == TRIGGER_MODE_MANUAL:
        mode = trigger_mode["mode"]
    else:
        fail("%%s: trigger_mode must be TRIGGER_MODE_AUTO or TRIGGER_MODE_MANUAL, got %%r" %% (fn, trigger_mode))
    if type(auto_init) != "bool":
        fail("%%s: auto_init must be a bool, got %%r" %% (fn, auto_init))
    if readiness_probe != None and (type(readiness_probe) != "dict" or readiness_probe.get("__tilt__") != "probe"):
        fail("%%s: readiness_probe must be a probe(), got %%r" %% (fn, readiness_probe))
    __tilt_record(fn, {
        "name": name,
        "cmd": update,
        "serve_cmd": serve,
        "deps": [__tilt_resolve(exec_dir, d) for d in __tilt_strings(fn, "deps", deps)],
        # Where each command runs: Tilt's default is the directory of the calling file.
        "dir": __tilt_resolve(exec_dir, dir or ".") if update != None else None,
        "serve_dir": __tilt_resolve(exec_dir, serve_dir or ".") if serve != None else None,
        "trigger_mode": mode,
        "auto_init": auto_init,
        "resource_deps": __tilt_strings(fn, "resource_deps", resource_deps),
        "ignore": __tilt_strings(fn, "ignore", ignore),
        "allow_parallel": allow_parallel,
        "links": links,
        "tags": tags,
        "env": env,
        "serve_env": serve_env,
        "readiness_probe": readiness_probe,
        "labels": __tilt_labels(fn, labels),
        "file_dir": exec_dir,
    })

def __tilt_local(exec_dir, command, quiet = False, command_bat = "", echo_off = False, env = {}, dir = "", stdin = None):
    __tilt_record("local", {"command": command, "dir": __tilt_resolve(exec_dir, dir or "."), "env": env})
    return ""

def __tilt_watch_file(exec_dir, path):
    __tilt_record("watch_file", {"path": __tilt_resolve(exec_dir, path)})

def __tilt_read_file(exec_dir, path, default = None):
    if default == None:
        fail("harness: read_file(%%r) is not emulated: the harness reads no files" %% path)
    __tilt_record("read_file", {"path": __tilt_resolve(exec_dir, path)})
    return default

def v1alpha1_extension_repo(name, url = "", ref = "", load_host = "", labels = {}, annotations = {}):
    __tilt_record("v1alpha1.extension_repo", {"name": name, "url": url, "ref": ref, "load_host": load_host})

def v1alpha1_extension(name, repo_name = "", repo_path = "", args = [], labels = {}, annotations = {}):
    __tilt_record("v1alpha1.extension", {"name": name, "repo_name": repo_name, "repo_path": repo_path, "args": args})

def default_registry(host, host_from_cluster = None, single_name = ""):
    __tilt_record("default_registry", {"host": host, "host_from_cluster": host_from_cluster, "single_name": single_name})

def warn(msg):
    __tilt_record("warn", {"msg": msg})

def tcp_socket_action(port, host = "localhost"):
    if type(port) != "int" or port < 1 or port > 65535:
        fail("tcp_socket_action: port must be a port number, got %%r" %% (port,))
    return {"__tilt__": "tcp_socket_action", "port": port, "host": host}

def exec_action(command):
    return {"__tilt__": "exec_action", "command": __tilt_strings("exec_action", "command", command)}

def http_get_action(port, host = "localhost", scheme = "http", path = ""):
    return {"__tilt__": "http_get_action", "port": port, "host": host, "scheme": scheme, "path": path}

def probe(initial_delay_secs = 0, timeout_secs = 1, period_secs = 10, success_threshold = 1,
          failure_threshold = 3, exec = None, http_get = None, tcp_socket = None):
    actions = [a for a in [exec, http_get, tcp_socket] if a != None]
    if len(actions) != 1:
        fail("probe: exactly one of exec, http_get, or tcp_socket must be specified")
    return {
        "__tilt__": "probe",
        "initial_delay_secs": initial_delay_secs,
        "timeout_secs": timeout_secs,
        "period_secs": period_secs,
        "success_threshold": success_threshold,
        "failure_threshold": failure_threshold,
        "action": actions[0],
    }
'''

# One line, so that it shifts the file's lines by exactly one (undone in error messages).
HEADER = (
    "__tilt_file_dir = %s; "
    "local_resource = lambda *a, **k: __tilt_local_resource(__tilt_file_dir, *a, **k); "
    "local = lambda *a, **k: __tilt_local(__tilt_file_dir, *a, **k); "
    "watch_file = lambda path: __tilt_watch_file(__tilt_file_dir, path); "
    "read_file = lambda *a, **k: __tilt_read_file(__tilt_file_dir, *a, **k); "
    "os_getcwd = lambda: __tilt_file_dir; "
    "os_path_exists = lambda path: __tilt_exists(__tilt_file_dir, path); "
    "os_path_abspath = lambda path: __tilt_resolve(__tilt_file_dir, path)\n"
)

SKIP_DIRS = {".git", "target", "node_modules", "tilt_modules", "__pycache__"}
MAX_FS_ENTRIES = 50_000


class HarnessError(Exception):
    """Something this harness cannot emulate (exit 2)."""


class TiltfileError(Exception):
    """The Tiltfile failed, as it would in Tilt (exit 1)."""


def starlark_string(text):
    # A JSON string is a valid Starlark string literal.
    return json.dumps(text)


def scan_fs(root):
    """Every file and directory under root, plus root's ancestors."""
    seen = {}
    path = root
    while True:
        seen[path] = True
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in dirnames + filenames:
            seen[os.path.join(dirpath, name)] = True
            if len(seen) > MAX_FS_ENTRIES:
                raise HarnessError(f"more than {MAX_FS_ENTRIES} files under {root}: pass a smaller --fs-root")
    return seen


def scope_bindings(node):
    """Names bound directly in the scope that `node` (a def, lambda or comprehension) opens."""
    names = set()
    if isinstance(node, (ast.FunctionDef, ast.Lambda)):
        a = node.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs:
            names.add(arg.arg)
        if a.vararg:
            names.add(a.vararg.arg)
        if a.kwarg:
            names.add(a.kwarg.arg)
        body = node.body if isinstance(node.body, list) else [node.body]
    elif isinstance(node, (ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
        body = [g.target for g in node.generators]
    else:  # the module
        body = node.body

    def collect(n):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.add(n.id)
        if isinstance(n, ast.FunctionDef):
            names.add(n.name)
            return  # its insides are its own scope
        if isinstance(n, (ast.Lambda, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            return
        for child in ast.iter_child_nodes(n):
            collect(child)

    for stmt in body:
        collect(stmt)
    return names


def dotted_replacements(tree, path):
    """(line, col, end_line, end_col, flat name) for each Tilt dotted builtin in the source."""
    found = []

    def chain(node):
        parts = []
        n = node
        while isinstance(n, ast.Attribute):
            parts.append(n)
            n = n.value
        return (n, list(reversed(parts))) if isinstance(n, ast.Name) else (None, None)

    def visit(node, scopes):
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                visit(default, scopes)
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    visit(deco, scopes)
            inner = scopes + [scope_bindings(node)]
            for stmt in node.body if isinstance(node.body, list) else [node.body]:
                visit(stmt, inner)
            return
        if isinstance(node, (ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            visit(node.generators[0].iter, scopes)
            inner = scopes + [scope_bindings(node)]
            for i, gen in enumerate(node.generators):
                if i > 0:
                    visit(gen.iter, inner)
                for cond in gen.ifs:
                    visit(cond, inner)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    visit(getattr(node, part), inner)
            return
        if isinstance(node, ast.Attribute):
            root, parts = chain(node)
            if root is not None and root.id in ROOTS and not any(root.id in s for s in scopes):
                names = [root.id]
                for p in parts:
                    names.append(p.attr)
                for i in range(len(parts) - 1, -1, -1):
                    dotted = ".".join(names[: i + 2])
                    if dotted in DOTTED:
                        end = parts[i]
                        found.append((root.lineno, root.col_offset, end.end_lineno, end.end_col_offset, dotted.replace(".", "_")))
                        return
                raise HarnessError(
                    f"{path}:{root.lineno}:{root.col_offset + 1}: {'.'.join(names)} is not emulated "
                    "(add it to tests/tilt/eval_tiltfile.py)"
                )
            # Not a Tilt module: look inside, e.g. os.path.join(a, b).upper -> the call.
            visit(node.value, scopes)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, scopes)

    visit(tree, [scope_bindings(tree)])
    return found


def rewrite(source, replacements):
    """Splices the flat names in; ast columns are UTF-8 byte offsets."""
    lines = [line.encode("utf-8") for line in source.split("\n")]
    for line, col, end_line, end_col, flat in sorted(replacements, reverse=True):
        if line == end_line:
            text = lines[line - 1]
            lines[line - 1] = text[:col] + flat.encode() + text[end_col:]
        else:  # `os .\n path` - keep the line count, lose the columns
            first, last = lines[line - 1], lines[end_line - 1]
            lines[line - 1] = first[:col] + flat.encode() + last[end_col:]
            for i in range(line, end_line):
                lines[i] = b""
    return "\n".join(text.decode("utf-8") for text in lines)


class Evaluator:
    def __init__(self, main_path, env, fs_root, subcommand):
        configure_starlark(allow_set=True, allow_global_reassign=True, allow_recursion=True)
        self.calls = []
        self.prints = []
        self.loads = []
        self.modules = {}  # path -> (index, exported names)
        self.loading = []
        self.sl = Starlark(print=self.on_print)
        prelude = PRELUDE % {
            "mark": starlark_string(MARK),
            "env": json.dumps(env, sort_keys=True),
            "main_path": starlark_string(main_path),
            "subcommand": starlark_string(subcommand),
        }
        self.sl.set(__tilt_fs=scan_fs(fs_root))
        self.exec(prelude, "<tilt builtins>", shift=0)

    def on_print(self, text):
        if text.startswith(MARK):
            self.calls.append(ast.literal_eval(text[len(MARK):]))
        else:
            self.prints.append(text)

    def exec(self, source, filename, shift):
        try:
            self.sl.exec(source, filename=filename)
        except StarlarkError as e:
            message = str(e)
            backtrace = getattr(e, "backtrace", "")
            text = backtrace if backtrace else message
            if shift:
                pattern = re.compile(re.escape(filename) + r":(\d+):(\d+)")
                text = pattern.sub(lambda m: f"{filename}:{int(m.group(1)) - shift}:{m.group(2)}", text)
            raise TiltfileError(text) from None

    def run_file(self, path):
        with open(path, encoding="utf-8") as f:
            source = f.read()
        try:
            tree = ast.parse(source, filename=path)
        except SyntaxError:
            # Let go.starlark.net report it, with its own words.
            self.run_piece(path, source)
            raise HarnessError(f"{path} does not parse as Python, but Starlark accepted it")
        source = rewrite(source, dotted_replacements(tree, path))
        lines = source.split("\n")
        start = 1
        for stmt in tree.body:
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "load"):
                continue
            self.run_piece(path, "\n" * (start - 1) + "\n".join(lines[start - 1 : stmt.lineno - 1]))
            self.load(path, stmt)
            start = stmt.end_lineno + 1
        self.run_piece(path, "\n" * (start - 1) + "\n".join(lines[start - 1 :]))

    def run_piece(self, path, source):
        if not source.strip():
            return
        header = HEADER % starlark_string(os.path.dirname(path))
        self.exec(header + source, path, shift=1)

    def load(self, path, stmt):
        where = f"{path}:{stmt.lineno}:{stmt.col_offset + 1}"
        call = stmt.value
        args = call.args
        if not args or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
            raise HarnessError(f"{where}: load() takes string literals")
        module = args[0].value
        wanted = {a.value: a.value for a in args[1:]}
        for kw in call.keywords:
            if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
                raise HarnessError(f"{where}: load() takes string literals")
            wanted[kw.arg] = kw.value.value
        for name in wanted.values():
            if name.startswith("_"):
                raise TiltfileError(f"{where}: load: names with leading underscores are not exported: {name}")
        target = self.resolve(path, module, where)
        self.loads.append({"module": module, "path": target})
        if target not in self.modules:
            self.run_module(target, where)
        index, exported = self.modules[target]
        for local, name in wanted.items():
            if name not in exported:
                raise TiltfileError(f"{where}: load: name {name} not found in module {module}")
        binds = "; ".join(f"{local} = __module{index}__{name}" for local, name in wanted.items())
        if binds:
            self.exec(binds + "\n", "<load>", shift=0)

    def resolve(self, path, module, where):
        if module.startswith("ext://"):
            name = module[len("ext://") :]
            exts = [c for c in self.calls if c["fn"] == "v1alpha1.extension" and c["name"] == name]
            if not exts:
                raise HarnessError(
                    f"{where}: no v1alpha1.extension(name='{name}') before load('{module}'): Tilt would "
                    "fetch it from github.com/tilt-dev/tilt-extensions, which the harness cannot"
                )
            ext = exts[-1]
            repos = [c for c in self.calls if c["fn"] == "v1alpha1.extension_repo" and c["name"] == ext["repo_name"]]
            if not repos:
                raise TiltfileError(f"{where}: extension {name}: no extension_repo named {ext['repo_name']!r}")
            url = repos[-1]["url"]
            if not url.startswith("file://"):
                raise HarnessError(f"{where}: extension repo url {url!r}: the harness follows file:// urls only")
            target = os.path.normpath(os.path.join(url[len("file://") :], ext["repo_path"], "Tiltfile"))
        elif module.startswith("//") or "://" in module:
            raise HarnessError(f"{where}: load({module!r}) is not emulated")
        else:
            target = os.path.normpath(os.path.join(os.path.dirname(path), module))
        if not os.path.isfile(target):
            raise TiltfileError(f"{where}: cannot load {module}: {target} does not exist")
        return target

    def forget(self, name):
        # pop() takes the name out, then fails to hand a function over to Python.
        try:
            self.sl.pop(name)
        except ConversionToPythonFailed:
            pass
        if name in self.sl.globals():
            raise HarnessError(f"cannot hide {name} after its module was loaded")

    def run_module(self, target, where):
        if target in self.loading:
            raise TiltfileError(f"{where}: cycle in load graph: {' -> '.join(self.loading + [target])}")
        with open(target, encoding="utf-8") as f:
            try:
                bound = scope_bindings(ast.parse(f.read(), filename=target))
            except SyntaxError:
                bound = set()
        before = set(self.sl.globals())
        clash = bound & (before - set(PER_FILE) - {n for n in before if n.startswith("__module")})
        if clash:
            raise HarnessError(
                f"{where}: {target} binds {sorted(clash)}, which the loading file or the builtins bind "
                "too: the harness runs both in one namespace and cannot keep them apart"
            )
        self.loading.append(target)
        self.run_file(target)
        self.loading.pop()
        after = set(self.sl.globals())
        new = after - before - set(PER_FILE)
        exported = {n for n in new if not n.startswith("_")}
        index = len(self.modules)
        if exported:
            self.exec("; ".join(f"__module{index}__{n} = {n}" for n in sorted(exported)) + "\n", "<load>", shift=0)
        for name in new:
            self.forget(name)
        self.modules[target] = (index, exported)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tiltfile")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--fs-root", help="what os.path.exists can see (default: the Tiltfile's directory)")
    parser.add_argument("--subcommand", default="up", help="config.tilt_subcommand (default: up)")
    opts = parser.parse_args()

    main_path = os.path.abspath(opts.tiltfile)
    env = {}
    for pair in opts.env:
        key, sep, value = pair.partition("=")
        if not sep:
            parser.error(f"--env takes KEY=VALUE, got {pair!r}")
        env[key] = value
    fs_root = os.path.abspath(opts.fs_root or os.path.dirname(main_path))

    try:
        evaluator = Evaluator(main_path, env, fs_root, opts.subcommand)
        evaluator.run_file(main_path)
        names = [c["name"] for c in evaluator.calls if c["fn"] == "local_resource"]
        for name in names:
            if names.count(name) > 1:
                raise TiltfileError(f"Local resource {name} has been defined multiple times")
    except HarnessError as e:
        print(f"harness: {e}", file=sys.stderr)
        return 2
    except TiltfileError as e:
        print(e, file=sys.stderr)
        return 1
    json.dump({"calls": evaluator.calls, "prints": evaluator.prints, "loads": evaluator.loads}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
