"""What Airflow's plugin loader reads in this folder: the Operations Center plugin.

The loader executes every ``.py`` file it finds here under its bare file name; the adapter
package is imported by its own name instead (``.airflowignore``), so only this file is read.
"""

from wallet_ops_airflow.operations_center.plugin import OperationsCenterPlugin

__all__ = ["OperationsCenterPlugin"]
