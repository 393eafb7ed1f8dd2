#!/usr/bin/python3
"""Writes the controller's site config (YAML, apps/dmz/config-schema.ts) for a lab topology.

  python3 mininet/sitegen.py --topo prototype            # = the controller's embedded default site
  python3 mininet/sitegen.py --topo multiproject --projects 4 -o site.yaml
  python3 mininet/sitegen.py --topo supercomputer                 # a fabric: links, clusters, backup-paths

The lab writes the same file for the topology it runs (Lab.site_file, {site} in --controller-cmd). Needs no
root, and no Mininet beyond its importable modules.
"""
import argparse
import os
import sys
import warnings

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
warnings.filterwarnings('ignore', category=DeprecationWarning)

from topos import make_spec, TOPOLOGIES  # noqa: E402
from topos.common import site_yaml  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--topo', default='prototype', choices=sorted(TOPOLOGIES))
    ap.add_argument('--projects', type=int, default=3, help='multiproject: number of projects')
    ap.add_argument('--fibre-rtt', type=float, help='distributed: the dark fibre\'s RTT, ms (default 20)')
    ap.add_argument('-o', '--output', help='file to write (default: standard output)')
    a = ap.parse_args(argv)
    opts = {'projects': a.projects} if a.topo == 'multiproject' else {}
    if a.topo == 'distributed' and a.fibre_rtt is not None:
        opts['fibre_rtt'] = a.fibre_rtt
    text = site_yaml(make_spec(a.topo, **opts))
    if a.output:
        with open(a.output, 'w') as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
