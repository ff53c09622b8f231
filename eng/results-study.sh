#!/usr/bin/env bash
# The methods' claims, measured on the bundled scenes models: writes docs/results.md.
# Generates COUNT held-out 224×224 scenes (the demo models' input; test-split items, seed 11) and runs `salient eval` for
#   - deep-layer methods on the standard model (demo/models/scenes-resnet18): Grad-CAM, Grad-CAM++,
#     LayerCAM, guided backprop and TSGB (target selectivity is TSGB's claim);
#   - shallow-layer Grad-CAM and LayerCAM at the backbone's layer1 and layer2, plain and with gradient
#     denoising (floor and rectify; pseudo-mask mIoU is the denoising claim);
#   - the CSG twin (demo/models/scenes-resnet18-csg) against the standard model: localization, and MIS
#     of the gated layer on 500 test-split scenes (`salient csg analyze`).
# Every score comes with a 95% bootstrap interval over items (2000 resamples), and every claim is read
# from the paired per-item difference, so a difference can be told from noise.
#   bash eng/results-study.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100}
bash eng/install-deps.sh --fashion-mnist
source eng/private-cli.sh
source eng/backbone.sh
compose_demo_model scenes-resnet18
# The CSG twin's part is measured when its head is there (eng/train-demo-models.sh trains it second).
twin=false
[ -f demo/models/scenes-resnet18-csg.head.onnx ] && twin=true && compose_demo_model scenes-resnet18-csg

out=out/results
manifest=$out/scenes/manifest.jsonl
std=demo/models/scenes-resnet18.onnx
csg=demo/models/scenes-resnet18-csg.onnx
[ -f "$manifest" ] || salient scenes --count "$count" --seed 11 --split test --size 224 --out "$out/scenes" >/dev/null
# One evaluation per folder; a folder with its metrics.json is kept, so an interrupted study resumes.
evaluate() {
  local name=$1 model=$2
  shift 2
  [ -f "$out/$name/metrics.json" ] && return
  local start
  start=$(date +%s)
  salient eval --model "$model" --dataset "$manifest" --out "$out/$name" "$@" >/dev/null
  echo "$(( $(date +%s) - start ))" > "$out/$name.seconds"
}
shallow=(--methods gradcam,layercam --metrics pointing,energy,selectivity,miou)
evaluate std-deep "$std" --methods gradcam,gradcam++,layercam,guided-backprop,tsgb --metrics pointing,energy,selectivity,miou,deletion,insertion --steps 8
for layer in layer1 layer2; do
  value=backbone_$layer
  evaluate "std-$layer" "$std" "${shallow[@]}" --layer "${!value}"
  for mode in floor rectify; do
    evaluate "std-$layer-$mode" "$std" "${shallow[@]}" --layer "${!value}" --denoise "$mode"
  done
done
if $twin; then
  evaluate csg-deep "$csg" --methods gradcam,layercam,tsgb --metrics pointing,energy,selectivity,miou
  for arm in std csg; do
    model=$std
    [ "$arm" = csg ] && model=$csg
    [ -f "$out/mis-$arm.json" ] || salient csg analyze --model "$model" --dataset scenes --seed 11 --count 500 --out "$out/mis-$arm.json" > "$out/mis-$arm.txt"
  done
fi
minutes=$(( ( $(cat "$out"/*.seconds | paste -sd+) ) / 60 ))

# Per-item values of one metric of one method of a run, as "item<TAB>value" in manifest order: the mean
# over the item's targets (pointing, energy, selectivity, deletion, insertion; items.jsonl has one record
# per item, method and target) or the item's own mIoU (miou, the same in each of its records).
values() {
  jq -rs --arg m "$2" --arg k "$3" '
    reduce (.[] | select(.method == $m and .metrics != null)) as $r ({order: [], by: {}};
      if .by[$r.item] then .by[$r.item] += [$r] else (.order += [$r.item] | .by[$r.item] = [$r]) end) |
    .order[] as $i | .by[$i] |
    (if $k == "miou" then .[0].metrics.miou else ([.[].metrics[$k] | select(. != null)] | if length > 0 then add / length else null end) end) as $v |
    select($v != null) | "\($i)\t\($v)"' "$out/$1/items.jsonl"
}
# stdin: one number per line; prints "MEAN LOW HIGH" (95% percentile bootstrap of the mean, fixed seed).
bootstrap() {
  awk 'BEGIN { srand(11) } { x[NR] = $1; s += $1 }
    END {
      if (NR == 0) { print "null null null"; exit }
      print "mean", s / NR
      for (b = 0; b < 2000; b++) { t = 0; for (i = 0; i < NR; i++) t += x[int(rand() * NR) + 1]; print "boot", t / NR }
    }' | sort -k1,1 -k2,2g | awk '$1 == "mean" { m = $2; next } { v[++n] = $2 } END { if (n == 0) { print "null null null"; exit } print m, v[int(0.025 * n) + 1], v[int(0.975 * n)] }'
}
ci() { values "$@" | cut -f2 | bootstrap; }
# Paired difference B − A over the items both have: "MEAN LOW HIGH".
diff_ci() { join -t $'\t' <(values "$1" "$2" "$3" | sort) <(values "$4" "$5" "$6" | sort) | awk -F'\t' '{ print $3 - $2 }' | bootstrap; }
fmt() { awk -v m="$1" -v l="$2" -v h="$3" 'BEGIN { if (m == "null") print "–"; else printf "%.3f [%.3f, %.3f]\n", m, l, h }'; }
cell() { fmt $(ci "$@"); }
dataset_miou() { jq -r --arg m "$2" '.methods[$m].segmentation.meanIoU | . * 1000 | round / 1000' "$out/$1/metrics.json"; }
row() {
  local run=$1 model=$2 layer=$3 method=$4 metrics=$5
  local line="| $model | $method | $layer"
  for k in pointing energy selectivity miou deletion insertion; do
    if [[ ",$metrics," == *",$k,"* ]]; then line+=" | $(cell "$run" "$method" "$k")"; else line+=" | –"; fi
  done
  echo "$line | $(dataset_miou "$run" "$method") |"
}
# A claim's verdict from the paired interval of B − A: above zero, below zero, or not told from noise.
verdict() {
  local m=$1 l=$2 h=$3 better=$4 worse=$5 level=$6
  awk -v m="$m" -v l="$l" -v h="$h" -v b="$better" -v w="$worse" -v s="$level" 'BEGIN {
    printf "%+.3f [%+.3f, %+.3f]: %s\n", m, l, h, (l > 0 ? b : (h < 0 ? w : s)) }'
}
claim() { local a=$1 ma=$2 b=$3 mb=$4 k=$5; shift 5; verdict $(diff_ci "$a" "$ma" "$k" "$b" "$mb" "$k") "$@"; }
mis() { jq -r --arg k "$2" '.[$k] | . * 10000 | round / 10000' "$out/mis-$1.json"; }
map() { jq -r '.map | . * 1000 | round / 1000' "$out/mis-$1.json"; }
deep=(gradcam gradcam++ layercam guided-backprop tsgb)
header='| model | method | layer | pointing ↑ | energy ↑ | selectivity ↑ | item mIoU ↑ | deletion ↓ | insertion ↑ | dataset mIoU ↑ |
|---|---|---|---|---|---|---|---|---|---|'
{
  echo "# Explanation quality on the bundled scenes models"
  echo
  echo "Made by \`bash eng/results-study.sh $count\` ($(date -u +%F), $(nproc) cores, $minutes minutes of evaluation): $count held-out scenes"
  echo "(224×224, one to three Fashion-MNIST items of the *test* split over clutter, seed 11), every object of a scene a target."
  echo "Models: \`demo/models/scenes-resnet18\` (standard; validation mAP $(grep -o 'val-mAP [0-9.]*' demo/models/scenes-resnet18.log | tail -1 | cut -d' ' -f2) in its log)$($twin && echo " and \`demo/models/scenes-resnet18-csg\` (CSG twin)"): heads trained by"
  echo "\`eng/train-demo-models.sh\` on the layer3 features of an ImageNet ResNet-18 (see the README and \`demo/models/*.log\`)."
  echo "Metrics (\`salient eval\`, [README](../README.md#salient-eval-explanation-quality-metrics)): pointing game (15 px), energy pointing game,"
  echo "target selectivity (share of the positive saliency on the target object rather than the other objects, scenes with two or more objects),"
  echo "pseudo-mask mIoU (argmax against a background score of 0.5, background included), deletion (zero baseline) and insertion (blurred start)"
  echo "AUC of the target's probability (8 steps). Each cell is the mean over items (an item's score is the mean over its targets;"
  echo "item mIoU is each scene's own) with its 95% bootstrap interval over items (2000 resamples); dataset mIoU sums intersections"
  echo "and unions over all scenes first (no interval). Score-CAM is left out: one forward pass per channel of the full network per target."
  echo
  echo "## Deep layer (the head's last conv, after layer3), standard model"
  echo
  echo "$header"
  for m in "${deep[@]}"; do row std-deep standard head "$m" pointing,energy,selectivity,miou,deletion,insertion; done
  echo
  echo "## Shallow layers (the backbone's layer1 and layer2), with and without gradient denoising (q = 0.7)"
  echo
  echo "LayerCAM weights each location by its positive gradient only, so rectifying the gradients first leaves it as it was:"
  echo "its rectify rows repeat the plain ones. Floor denoising zeroes the positive gradients below their q-quantile (docs/methods.md)."
  echo
  echo "$header"
  for layer in layer1 layer2; do
    for variant in "" -floor -rectify; do
      for m in gradcam layercam; do row "std-$layer$variant" "standard${variant:+, denoised (${variant#-})}" "$layer" "$m" pointing,energy,selectivity,miou; done
    done
  done
  echo
  echo "## CSG twin against the standard model"
  echo
  if ! $twin; then
    echo "Not measured: \`demo/models/scenes-resnet18-csg.head.onnx\` is missing (\`eng/train-demo-models.sh\` trains it after the standard model)."
  else
  echo "$header"
  for m in gradcam layercam tsgb; do row csg-deep CSG head "$m" pointing,energy,selectivity,miou; done
  echo
  echo "Class specificity of the gated layer (\`salient csg analyze\`, ungated network, 500 test-split scenes of seed 11; MIS in nats,"
  echo "mean over the head's filters of the most informative class; no interval: MIS is a statistic of the whole set):"
  echo
  echo "| model | ungated mAP on these scenes | MIS | normalised MIS | gate density | one-hot filters |"
  echo "|---|---|---|---|---|---|"
  for arm in std csg; do
    echo "| $arm | $(map $arm) | $(mis $arm mis) | $(mis $arm mis_normalised) | $(mis $arm gate_density) | $(mis $arm one_hot_fraction) |"
  done
  echo
  echo "CSG's claim is about models of about equal accuracy; read the MIS and localization differences beside the two mAPs."
  fi
  echo
  echo "## The claims"
  echo
  echo "Each line gives the paired per-item difference (mean and 95% bootstrap interval); a claim holds when the interval lies above zero."
  echo
  echo "- **TSGB's target selectivity** against guided backprop, the gradient method it modifies: $(claim std-deep guided-backprop std-deep tsgb selectivity "holds" "the opposite holds" "not told from noise")."
  echo "- **TSGB's target selectivity** against Grad-CAM, a CAM method already class-discriminative: $(claim std-deep gradcam std-deep tsgb selectivity "TSGB is more selective" "Grad-CAM is more selective" "level")."
  for layer in layer1 layer2; do
    for mode in floor rectify; do
      for m in gradcam layercam; do
        echo "- **Gradient denoising ($mode) of $layer $m**, item mIoU: $(claim "std-$layer" "$m" "std-$layer-$mode" "$m" miou "holds" "denoising lowers it" "not told from noise"); energy: $(claim "std-$layer" "$m" "std-$layer-$mode" "$m" energy "higher" "lower" "level")."
      done
    done
  done
  if $twin; then
    for m in gradcam layercam; do
      echo "- **CSG localization** ($m), energy pointing game, CSG − standard: $(claim std-deep "$m" csg-deep "$m" energy "CSG localizes better" "CSG localizes worse" "not told from noise"); item mIoU: $(claim std-deep "$m" csg-deep "$m" miou "higher" "lower" "level")."
    done
    echo "- **CSG class specificity** (MIS of the gated layer): standard $(mis std mis), CSG $(mis csg mis); normalised $(mis std mis_normalised) → $(mis csg mis_normalised)."
  fi
} > docs/results.md
cat docs/results.md
