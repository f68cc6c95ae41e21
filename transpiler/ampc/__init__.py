"""ampc: compile AMPscript into Python.

    >>> import ampc
    >>> ampc.render('%%[ set @name = "World" ]%%Hello, %%=v(@name)=%%!')
    'Hello, World!'

`compile_source` gives the generated module's source; `render` compiles and
renders in one call.  The generated code runs on the `ampscript` runtime.
"""

from .compiler import compile_source, load_module, render
from .errors import CompileError

__all__ = ["CompileError", "compile_source", "load_module", "render"]
