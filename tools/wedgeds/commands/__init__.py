"""The wedge-* command-line tools, one module each with a ``main(argv=None)``.

wedge-summary (summary), wedge-merge (merge), wedge-plot-fig2 .. wedge-plot-fig6
(fig2 .. fig6), wedge-plot-intrinsic (intrinsic), wedge-plot-toy-hyperplane
(toy_hyperplane), wedge-plot-toy-near-zero (toy_near_zero), wedge-plot-learning
(learning), wedge-hessian (hessian), wedge-plot-density (density),
wedge-plot-fig5-radius (fig5_radius), wedge-orthogonality (orthogonality),
wedge-plot-slice (slice).  The scripts
in tools/ and the installed commands only call these.
"""

COMMANDS = {
    "wedge-summary": "summary", "wedge-merge": "merge",
    "wedge-plot-fig2": "fig2", "wedge-plot-fig3": "fig3", "wedge-plot-fig4": "fig4",
    "wedge-plot-fig5": "fig5", "wedge-plot-fig5-radius": "fig5_radius",
    "wedge-plot-fig6": "fig6",
    "wedge-plot-intrinsic": "intrinsic", "wedge-plot-toy-hyperplane": "toy_hyperplane",
    "wedge-plot-toy-near-zero": "toy_near_zero", "wedge-plot-learning": "learning",
    "wedge-hessian": "hessian", "wedge-plot-density": "density",
    "wedge-orthogonality": "orthogonality",
    "wedge-plot-slice": "slice",
}
