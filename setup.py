"""Builds Custos's one native module, ``audit._merkle`` (batch SHA-256 for ``audit_verify``), in place.

``make install`` runs ``python setup.py build_ext --inplace``. Custos is not installed as a
package; without a C compiler or the OpenSSL and SQLite headers the build fails, ``make`` says so, and the
verifier uses the pure-Python equivalent in audit/fast_merkle.py (same results, slower).
"""

from setuptools import Extension, setup

setup(
    name="custos-native",
    packages=[],  # only the extension: the apps are not packaged
    ext_modules=[
        Extension(
            "audit._merkle",
            sources=["audit/_merkle.c"],
            libraries=["crypto", "sqlite3"],  # the libcrypto hashlib uses, the libsqlite3 the sqlite3 module uses
            extra_compile_args=["-O2", "-Wall", "-Werror"],
        )
    ],
)
