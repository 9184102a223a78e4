import argparse

import pytorch_lightning as pl
from datasets import load_dataset
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint
from torch.utils.data import DataLoader
from transformers import AutoTokenizer, default_data_collator

from litproj import ExtractiveQA


class QADataModule(pl.LightningDataModule):
    def __init__(self, model_name, batch_size=16, max_length=384, stride=128):
        super().__init__()
        self.tokenizer = AutoTokenizer.from_pretrained(model_name)
        self.batch_size, self.max_length, self.stride = batch_size, max_length, stride

    def _prepare(self, examples):
        enc = self.tokenizer([q.strip() for q in examples["question"]], examples["context"],
                             truncation="only_second", max_length=self.max_length, stride=self.stride,
                             return_overflowing_tokens=True, return_offsets_mapping=True, padding="max_length")
        sample_map = enc.pop("overflow_to_sample_mapping")
        starts, ends = [], []
        for i, offsets in enumerate(enc.pop("offset_mapping")):
            answer = examples["answers"][sample_map[i]]
            s_char = answer["answer_start"][0]
            e_char = s_char + len(answer["text"][0])
            seq = enc.sequence_ids(i)
            ctx = [k for k, s in enumerate(seq) if s == 1]
            if offsets[ctx[0]][0] > s_char or offsets[ctx[-1]][1] < e_char:
                starts.append(0)
                ends.append(0)
                continue
            starts.append(next(k for k in ctx if offsets[k][1] > s_char))
            ends.append(next(k for k in reversed(ctx) if offsets[k][0] < e_char))
        enc["start_positions"], enc["end_positions"] = starts, ends
        return enc

    def setup(self, stage=None):
        raw = load_dataset("squad_v2").filter(lambda ex: len(ex["answers"]["text"]) > 0)
        self.train_ds = raw["train"].map(self._prepare, batched=True, remove_columns=raw["train"].column_names)
        self.val_ds = raw["validation"].map(self._prepare, batched=True,
                                            remove_columns=raw["validation"].column_names)

    def train_dataloader(self):
        return DataLoader(self.train_ds, batch_size=self.batch_size, shuffle=True,
                          collate_fn=default_data_collator, num_workers=4)

    def val_dataloader(self):
        return DataLoader(self.val_ds, batch_size=self.batch_size * 2, collate_fn=default_data_collator,
                          num_workers=4)


def main():
    parser = argparse.ArgumentParser(description="Extractive QA fine-tuning on SQuAD v2 (answerable subset)")
    parser.add_argument("--model", default="deepset/roberta-base-squad2")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--accumulate", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-5)
    args = parser.parse_args()

    pl.seed_everything(13)
    dm = QADataModule(args.model, batch_size=args.batch_size)
    model = ExtractiveQA(args.model, lr=args.lr)
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="gpu",
        devices=1,
        precision="16-mixed",
        accumulate_grad_batches=args.accumulate,
        gradient_clip_val=1.0,
        callbacks=[LearningRateMonitor(logging_interval="step"),
                   ModelCheckpoint(monitor="val/exact_span", mode="max", save_top_k=1)],
    )
    trainer.fit(model, datamodule=dm)


if __name__ == "__main__":
    main()
